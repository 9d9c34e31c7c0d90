//! The webhooks service on SQLite and PostgreSQL, delivering to real HTTP receivers on loopback.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "a test fails loudly at the step that broke"
)]

mod bad_input;
mod delivery;
mod durable;
mod helpers;

/// Runs each `async fn(Backend)` twice, as `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test($crate::helpers::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() { super::$test($crate::helpers::Backend::Postgres).await })*
        }
    };
}
