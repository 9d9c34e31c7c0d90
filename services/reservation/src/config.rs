//! The reservation service's configuration.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use gpuproxy_config::{
    ConfigErrors, DatabaseConfig, EnvMap, LoadBalancerConfig, NatsConfig, Reader, SecretString,
};

/// How the load balancer decides that an instance is unhealthy, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthSettings {
    /// `LB_UNHEALTHY_AFTER`: consecutive failed requests that take an instance out of the rotation.
    pub unhealthy_after: u32,
    /// `LB_UNHEALTHY_COOLDOWN`: how long it stays out before one request may try it again.
    pub cooldown: Duration,
    /// `LB_HEALTH_PROBE_INTERVAL`: how often each running instance's `GET /health` is probed.
    pub probe_interval: Duration,
}

/// The background loops' periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    /// `INSTANCE_POLL_INTERVAL`: how often instances that are starting are looked up at their provider.
    pub poll: Duration,
    /// `INSTANCE_START_TIMEOUT`: an instance not running by then is destroyed as failed.
    pub start_timeout: Duration,
    /// `RECONCILE_INTERVAL`: how often our records are compared with what the providers run.
    pub reconcile: Duration,
    /// `METERING_INTERVAL`: how often run time is billed.
    pub metering: Duration,
    /// `AUTOSTOP_CHECK_INTERVAL`: how often idle instances are looked for.
    pub autostop_check: Duration,
}

/// Everything the reservation service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where reservations and instances are kept.
    pub database: DatabaseConfig,
    /// Where events go.
    pub nats: NatsConfig,
    /// `OUTBOX_POLL_INTERVAL`.
    pub outbox_poll_interval: Duration,
    /// `CATALOG_SERVICE_URL`: the catalog, in the fleet.
    pub catalog_service_url: String,
    /// `SERVICE_CALL_TIMEOUT`: the longest one call to the catalog may take (a create includes the
    /// provider's own retries).
    pub catalog_call_timeout: Duration,
    /// `LB_ENABLED`, `LB_STRATEGY`.
    pub load_balancer: LoadBalancerConfig,
    /// `RESERVE_CONCURRENCY`: creates one reservation runs at once.
    pub reserve_concurrency: usize,
    /// `RESERVE_ATTEMPTS_PER_SLOT`: offers tried for one slot before the slot is given up.
    pub attempts_per_slot: usize,
    /// The background loops.
    pub periods: Periods,
    /// `BILLING_SERVICE_URL`: credits and usage, in the fleet.
    pub billing_service_url: String,
    /// `GUARDRAILS_SERVICE_URL`: spending limits, in the fleet.
    pub guardrails_service_url: String,
    /// `CREDITS_ENFORCED`: refuse rents that the user's credits or guard rails cannot cover for an hour.
    pub credits_enforced: bool,
    /// `CREDITS_STOP_INSTANCES_AT_CAP`: destroy a user's instances once their balance reaches the cap.
    pub stop_at_cap: bool,
    /// Instance health.
    pub health: HealthSettings,
    /// `INTERNAL_HOST`, `RESERVATION_GRPC_PORT`; `None` when only reached in-process.
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
        let port = reader.number("RESERVATION_GRPC_PORT", 50053u16, 0..=u16::MAX);
        Config {
            database: DatabaseConfig::read(reader),
            nats: NatsConfig::read(reader),
            outbox_poll_interval: reader.duration("OUTBOX_POLL_INTERVAL", Duration::from_millis(500)),
            catalog_service_url: reader.string("CATALOG_SERVICE_URL", "http://127.0.0.1:50052"),
            catalog_call_timeout: reader.duration("SERVICE_CALL_TIMEOUT", Duration::from_secs(10)),
            load_balancer: LoadBalancerConfig::read(reader),
            reserve_concurrency: reader.number("RESERVE_CONCURRENCY", 16usize, 1..=16),
            attempts_per_slot: reader.number("RESERVE_ATTEMPTS_PER_SLOT", 3usize, 1..=20),
            periods: Periods {
                poll: positive(reader, "INSTANCE_POLL_INTERVAL", Duration::from_secs(2)),
                start_timeout: positive(reader, "INSTANCE_START_TIMEOUT", Duration::from_secs(15 * 60)),
                reconcile: positive(reader, "RECONCILE_INTERVAL", Duration::from_secs(60)),
                metering: positive(reader, "METERING_INTERVAL", Duration::from_secs(60)),
                autostop_check: positive(reader, "AUTOSTOP_CHECK_INTERVAL", Duration::from_secs(30)),
            },
            billing_service_url: reader.string("BILLING_SERVICE_URL", "http://127.0.0.1:50055"),
            guardrails_service_url: reader.string("GUARDRAILS_SERVICE_URL", "http://127.0.0.1:50054"),
            credits_enforced: reader.bool("CREDITS_ENFORCED", false),
            stop_at_cap: reader.bool("CREDITS_STOP_INSTANCES_AT_CAP", false),
            health: HealthSettings {
                unhealthy_after: reader.number("LB_UNHEALTHY_AFTER", 3u32, 1..=1000),
                cooldown: positive(reader, "LB_UNHEALTHY_COOLDOWN", Duration::from_secs(30)),
                probe_interval: positive(reader, "LB_HEALTH_PROBE_INTERVAL", Duration::from_secs(10)),
            },
            grpc_listen: Some(SocketAddr::new(host, port)),
            internal_token: gpuproxy_config::read_internal_token(reader),
            developer_mode,
        }
    }
}

fn positive(reader: &mut Reader<'_>, name: &str, default: Duration) -> Duration {
    let value = reader.duration(name, default);
    if value.is_zero() {
        reader.invalid(name, None, "must be more than 0s");
        default
    } else {
        value
    }
}
