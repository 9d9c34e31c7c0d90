//! The agents service's configuration.

use std::time::Duration;

use gpuproxy_config::{AGENTS, DatabaseConfig, InternalServerConfig, Reader};

/// Everything the agents service reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `SERVICE_CALL_TIMEOUT`: what a call to another service may take.
    pub call_timeout: Duration,
    /// `REQUEST_TIMEOUT`: what a call that rents, reserves or destroys may take.
    pub renting_timeout: Duration,
    /// `AGENT_PROGRESS_INTERVAL`: how often a long action (a reservation) reports its progress.
    pub progress_interval: Duration,
    /// Where tasks are kept.
    pub database: DatabaseConfig,
    /// `OUTBOX_POLL_INTERVAL`: how often the outbox is checked for events other processes wrote.
    pub outbox_poll_interval: Duration,
    /// Where the internal API listens (`INTERNAL_HOST`, `AGENTS_GRPC_PORT`, `INTERNAL_API_TOKEN`).
    pub server: InternalServerConfig,
}

impl Config {
    /// Reads the configuration, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
        Config {
            call_timeout: reader.duration("SERVICE_CALL_TIMEOUT", Duration::from_secs(10)),
            renting_timeout: reader.duration("REQUEST_TIMEOUT", Duration::from_secs(30)),
            progress_interval: reader.duration("AGENT_PROGRESS_INTERVAL", Duration::from_secs(1)),
            database: DatabaseConfig::read(reader),
            outbox_poll_interval: reader.duration("OUTBOX_POLL_INTERVAL", Duration::from_millis(500)),
            server: InternalServerConfig::read(reader, &AGENTS, developer_mode),
        }
    }
}
