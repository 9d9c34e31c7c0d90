//! The reservation service's configuration.

mod load_balancer;

use std::time::Duration;

use gpuproxy_config::{ConfigErrors, DatabaseConfig, EnvMap, InternalServerConfig, RESERVATION, Reader};

pub use load_balancer::LoadBalancerConfig;

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
    /// `OUTBOX_POLL_INTERVAL`.
    pub outbox_poll_interval: Duration,
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
    /// `CREDITS_ENFORCED`: refuse rents that the user's credits or guard rails cannot cover for an hour.
    pub credits_enforced: bool,
    /// `CREDITS_STOP_INSTANCES_AT_CAP`: destroy a user's instances once their balance reaches the cap.
    pub stop_at_cap: bool,
    /// Instance health.
    pub health: HealthSettings,
    /// Where the internal API listens (`INTERNAL_HOST`, `RESERVATION_GRPC_PORT`, `INTERNAL_API_TOKEN`).
    pub server: InternalServerConfig,
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env_map(env: &EnvMap, developer_mode: bool) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, |reader| Self::read(reader, developer_mode))
    }

    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
        Config {
            database: DatabaseConfig::read(reader),
            outbox_poll_interval: reader.duration("OUTBOX_POLL_INTERVAL", Duration::from_millis(500)),
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
            credits_enforced: reader.bool("CREDITS_ENFORCED", false),
            stop_at_cap: reader.bool("CREDITS_STOP_INSTANCES_AT_CAP", false),
            health: HealthSettings {
                unhealthy_after: reader.number("LB_UNHEALTHY_AFTER", 3u32, 1..=1000),
                cooldown: positive(reader, "LB_UNHEALTHY_COOLDOWN", Duration::from_secs(30)),
                probe_interval: positive(reader, "LB_HEALTH_PROBE_INTERVAL", Duration::from_secs(10)),
            },
            server: InternalServerConfig::read(reader, &RESERVATION, developer_mode),
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
