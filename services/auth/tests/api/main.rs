//! The auth service's internal gRPC API, on the embedded backends (SQLite, memory, in-process bus)
//! and on the fleet backends (PostgreSQL, Redis, NATS JetStream).
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly at the step that broke"
)]

mod api_keys;
mod helpers;
mod login;
mod registration;
mod sessions;
mod users;
