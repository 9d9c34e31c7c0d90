//! The webhooks service's configuration.

use std::time::Duration;

use gpuproxy_config::{ConfigErrors, DatabaseConfig, EnvMap, InternalServerConfig, Reader, WEBHOOKS};
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
    /// Delivery rules.
    pub delivery: DeliverySettings,
    /// `WEBHOOK_MAX_PER_USER`: subscriptions one user may hold.
    pub max_per_user: usize,
    /// Where the internal API listens (`INTERNAL_HOST`, `WEBHOOKS_GRPC_PORT`, `INTERNAL_API_TOKEN`).
    pub server: InternalServerConfig,
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env_map(env: &EnvMap, developer_mode: bool) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, |reader| Self::read(reader, developer_mode))
    }

    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
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
            delivery,
            max_per_user: reader.number("WEBHOOK_MAX_PER_USER", 25usize, 1..=1000),
            server: InternalServerConfig::read(reader, &WEBHOOKS, developer_mode),
        }
    }
}
