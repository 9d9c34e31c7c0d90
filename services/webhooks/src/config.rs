//! The webhooks service's configuration.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use gpuproxy_config::{ConfigErrors, DatabaseConfig, EnvMap, NatsConfig, Reader, SecretString};
use gpuproxy_egress::EgressPolicy;

/// How deliveries are attempted and retried.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// `WEBHOOK_ALLOWED_HOSTS`: receivers that may be private or loopback addresses (same syntax
    /// as `PROXY_ALLOWED_HOSTS`); every other receiver must resolve to public addresses only.
    pub allowed_hosts: EgressPolicy,
    /// `WEBHOOK_TIMEOUT`: the longest one attempt may take, connecting included.
    pub timeout: Duration,
    /// `WEBHOOK_MAX_ATTEMPTS`: attempts before a delivery is dead-lettered.
    pub max_attempts: u32,
    /// `WEBHOOK_RETRY_BASE`: the wait after the first failure; each later one doubles it.
    pub retry_base: Duration,
    /// `WEBHOOK_RETRY_MAX_BACKOFF`: the longest wait between two attempts.
    pub retry_max_backoff: Duration,
    /// `WEBHOOK_CONCURRENCY`: attempts in flight at once, over all receivers.
    pub concurrency: usize,
    /// `WEBHOOK_PER_RECEIVER_CONCURRENCY`: attempts in flight to one subscription, so that a slow
    /// receiver holds at most this many of the slots above.
    pub per_receiver_concurrency: usize,
    /// `WEBHOOK_POLL_INTERVAL`: how often due retries are looked for when nothing new arrived.
    pub poll_interval: Duration,
    /// `WEBHOOK_DELIVERY_RETENTION`: delivered and dead rows older than this leave the log.
    pub retention: Duration,
}

/// Everything the webhooks service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where subscriptions and deliveries are kept.
    pub database: DatabaseConfig,
    /// The event stream deliveries come from.
    pub nats: NatsConfig,
    /// Delivery rules.
    pub delivery: DeliverySettings,
    /// `WEBHOOK_MAX_PER_USER`: subscriptions one user may hold.
    pub max_per_user: usize,
    /// `INTERNAL_HOST`, `WEBHOOKS_GRPC_PORT`; `None` when only reached in-process.
    pub grpc_listen: Option<SocketAddr>,
    /// `INTERNAL_API_TOKEN`.
    pub internal_token: Option<SecretString>,
    /// Developer mode: the internal API may listen beyond loopback without a token.
    pub developer_mode: bool,
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env_map(env: &EnvMap, developer_mode: bool) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, |reader| Self::read(reader, developer_mode))
    }

    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
        let host = reader.parse::<IpAddr>("INTERNAL_HOST", IpAddr::from([127, 0, 0, 1]));
        let port = reader.number("WEBHOOKS_GRPC_PORT", 50056u16, 0..=u16::MAX);
        let listed = reader.string("WEBHOOK_ALLOWED_HOSTS", "");
        let allowed_hosts = EgressPolicy::parse_list(&listed).unwrap_or_else(|error| {
            reader.invalid("WEBHOOK_ALLOWED_HOSTS", Some(&listed), error.to_string());
            EgressPolicy::default()
        });
        let delivery = DeliverySettings {
            allowed_hosts,
            timeout: reader.duration("WEBHOOK_TIMEOUT", Duration::from_secs(10)),
            max_attempts: reader.number("WEBHOOK_MAX_ATTEMPTS", 15u32, 1..=100),
            retry_base: reader.duration("WEBHOOK_RETRY_BASE", Duration::from_secs(10)),
            retry_max_backoff: reader.duration("WEBHOOK_RETRY_MAX_BACKOFF", Duration::from_secs(3600)),
            concurrency: reader.number("WEBHOOK_CONCURRENCY", 64usize, 1..=4096),
            per_receiver_concurrency: reader.number("WEBHOOK_PER_RECEIVER_CONCURRENCY", 4usize, 1..=256),
            poll_interval: reader.duration("WEBHOOK_POLL_INTERVAL", Duration::from_secs(1)),
            retention: reader.duration("WEBHOOK_DELIVERY_RETENTION", Duration::from_secs(7 * 86_400)),
        };
        if delivery.timeout.is_zero() {
            reader.invalid("WEBHOOK_TIMEOUT", None, "must be more than 0s");
        }
        if delivery.retry_base.is_zero() || delivery.retry_base > delivery.retry_max_backoff {
            reader.invalid(
                "WEBHOOK_RETRY_BASE",
                None,
                "must be more than 0s and at most WEBHOOK_RETRY_MAX_BACKOFF",
            );
        }
        Config {
            database: DatabaseConfig::read(reader),
            nats: NatsConfig::read(reader),
            delivery,
            max_per_user: reader.number("WEBHOOK_MAX_PER_USER", 25usize, 1..=1000),
            grpc_listen: Some(SocketAddr::new(host, port)),
            internal_token: gpuproxy_config::read_internal_token(reader),
            developer_mode,
        }
    }
}
