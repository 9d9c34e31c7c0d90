//! Typed configuration from environment variables and `.env`.
//!
//! Layout: [`EnvMap`] is the raw key→value map (the only place that reads the process environment);
//! [`Reader`] parses variables into real types, remembering every variable it was asked for and every
//! bad value, so that one start-up reports all problems at once; `services.rs` is the service table
//! (every internal service once: name, port, URL variable); `internal_server.rs` and `peers.rs` read
//! where a service listens and where it finds the others; the other section modules (`database.rs`,
//! `redis.rs`, …) are the variable groups several services share. A section only one service reads
//! lives in that service. Parsing is a pure function of the map, so tests never touch the process
//! environment. `legacy_flags.rs` accepts the original tools' single-dash flags (`-dv`, `-dm`, `-key`)
//! on the command line.

mod database;
mod env_map;
mod errors;
mod internal_server;
mod legacy_flags;
mod nats;
mod peers;
mod reader;
mod redis;
mod services;
mod telemetry;
mod url;

pub use database::{DatabaseBackend, DatabaseConfig};
pub use env_map::EnvMap;
pub use errors::{ConfigErrors, InvalidVariable};
pub use internal_server::{
    InternalServerConfig, MIN_INTERNAL_TOKEN_BYTES, read_internal_host, read_internal_token,
};
pub use legacy_flags::{normalize_legacy_flags, process_args};
pub use nats::NatsConfig;
pub use peers::PeersConfig;
pub use reader::{Reader, read_all};
pub use redis::{RedisConfig, RedisServer};
pub use secrecy::{ExposeSecret, SecretString};
pub use services::{
    AGENTS, AUTH, BILLING, CATALOG, GUARDRAILS, INFERENCE, RESERVATION, SERVICES, ServiceSpec, WEBHOOKS,
    service_named,
};
pub use telemetry::{LogFormat, SyslogConfig, SyslogNetwork, TelemetryConfig};
pub use url::check_http_url;
