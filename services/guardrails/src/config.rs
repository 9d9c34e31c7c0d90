//! The guard rails' configuration.

mod limits;

use std::time::Duration;

use gpuproxy_config::{
    ConfigErrors, DatabaseConfig, EnvMap, GUARDRAILS, InternalServerConfig, Reader, RedisConfig,
};

pub use limits::GuardrailsConfig;

/// What a window over its limit does (`GUARDRAILS_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuses the spending.
    Enforce,
    /// Lets it through and reports it (events, logs, `would_exceed`): for rolling limits out safely.
    Shadow,
}

impl Mode {
    /// Returns the value of `GUARDRAILS_MODE` that selects this mode.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
}

/// Everything the guardrails service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `GUARDRAILS_ENABLED` and the 17 `GUARDRAILS_MAX_<W>_RATE` limits.
    pub limits: GuardrailsConfig,
    /// `GUARDRAILS_MODE`.
    pub mode: Mode,
    /// Where the spending ledgers live: Redis in the fleet, memory embedded.
    pub redis: RedisConfig,
    /// Where per-user limits are kept (durable, unlike the ledgers in memory).
    pub database: DatabaseConfig,
    /// `GUARDRAILS_LIMITS_CACHE_TTL`: how long a replica reuses a user's limits before reading them
    /// again, so how late another replica may see an admin's change. Zero reads them on every check.
    pub limits_cache_ttl: Duration,
    /// Where the internal API listens (`INTERNAL_HOST`, `GUARDRAILS_GRPC_PORT`, `INTERNAL_API_TOKEN`).
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
            limits: GuardrailsConfig::read(reader),
            mode: reader.choice(
                "GUARDRAILS_MODE",
                Mode::Enforce,
                &[("enforce", Mode::Enforce), ("shadow", Mode::Shadow)],
            ),
            redis: RedisConfig::read(reader),
            database: DatabaseConfig::read(reader),
            limits_cache_ttl: reader.duration("GUARDRAILS_LIMITS_CACHE_TTL", Duration::from_secs(5)),
            server: InternalServerConfig::read(reader, &GUARDRAILS, developer_mode),
        }
    }
}
