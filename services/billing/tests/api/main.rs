//! The billing service on SQLite and PostgreSQL, against local fake payment processors.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "a test fails loudly at the step that broke"
)]

mod helpers;
mod holds;
mod ledger;
mod payments;
mod renewal;
mod webhooks;

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
