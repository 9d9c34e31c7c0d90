//! Typed configuration from environment variables and `.env`.
//!
//! Layout: [`EnvMap`] is the raw key→value map (the only place that reads the process environment);
//! [`Reader`] parses variables into real types, remembering every variable it was asked for and every
//! bad value, so that one start-up reports all problems at once; the section modules
//! (`database.rs`, `redis.rs`, …) are the variable groups several services share. Parsing is a pure
//! function of the map, so tests never touch the process environment. `legacy_flags.rs` accepts the
//! original tools' single-dash flags (`-dv`, `-dm`, `-key`) on the command line.

mod billing;
mod database;
mod env_map;
mod errors;
mod guardrails;
mod internal_token;
mod legacy_flags;
mod load_balancer;
mod marketplace;
mod nats;
mod object_storage;
mod reader;
mod redis;
mod telemetry;
mod url;

pub use billing::BillingConfig;
pub use database::{DatabaseBackend, DatabaseConfig};
pub use env_map::EnvMap;
pub use errors::{ConfigErrors, InvalidVariable};
pub use guardrails::GuardrailsConfig;
pub use internal_token::{MIN_INTERNAL_TOKEN_BYTES, read_internal_token};
pub use legacy_flags::{normalize_legacy_flags, process_args};
pub use load_balancer::LoadBalancerConfig;
pub use marketplace::MarketplaceConfig;
pub use nats::NatsConfig;
pub use object_storage::ObjectStorageConfig;
pub use reader::{Reader, read_all};
pub use redis::{RedisConfig, RedisServer};
pub use secrecy::{ExposeSecret, SecretString};
pub use telemetry::{LogFormat, SyslogConfig, SyslogNetwork, TelemetryConfig};
