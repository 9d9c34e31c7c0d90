//! Fixtures for tests that talk to real servers: a fresh database per test (SQLite file or a new
//! PostgreSQL database), a Redis key prefix and a NATS subject prefix and stream of its own, so tests
//! run in parallel without seeing each other.
//!
//! Layout: `config.rs` reads where the test servers are (`TEST_DATABASE_URL`, `TEST_REDIS_HOST`,
//! `TEST_REDIS_PORT`, `TEST_NATS_URL`, `TEST_LOG`); `database.rs` creates and drops databases;
//! `isolation.rs` hands out Redis and NATS configurations under unique names; `hook_receiver.rs` is a
//! webhook receiver that verifies signatures on its own. The
//! `gpuproxy-test-janitor` binary removes what crashed tests left behind.

#![allow(
    clippy::panic,
    clippy::expect_used,
    reason = "test fixtures fail the test that uses them, loudly and with the cause"
)]

mod config;
mod database;
mod hook_receiver;
mod isolation;

pub use config::TestServers;
pub use database::TestDatabase;
pub use hook_receiver::{DownReceiver, HookReceiver, HookRequest, verify_signature};
pub use isolation::{TEST_NAME_PREFIX, nats_config, redis_config, unique_name};

/// Installs test logging once; silent unless `TEST_LOG=1`.
pub fn init_logging() {
    gpuproxy_telemetry::init_for_tests(TestServers::from_env().log);
}
