//! The guardrails service over its internal gRPC API, on both stores (memory and SQLite; Redis and
//! PostgreSQL).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "tests fail loudly at the step that broke"
)]

mod helpers;
mod limits;
mod user_limits;
