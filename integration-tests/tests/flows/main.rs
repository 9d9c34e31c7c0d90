//! Black-box flows over REST and gRPC, each in both modes: the embedded server and the fleet.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "a test fails loudly at the step that broke"
)]

mod a2a;
mod agent_protocols;
mod bad_input;
mod billing;
mod cors;
mod event_outages;
mod events;
mod export;
mod gpu_catalog;
mod gpu_rentals;
mod grpc_api;
mod guardrails;
mod health;
mod internal_api;
mod load_balancing;
mod mcp;
mod models;
mod pasted_examples;
mod proxying;
mod rate_limits;
mod rentals;
mod request_cost;
mod rest_flow;
mod revocation;
mod service_outages;
mod tls;
mod webhooks;
mod websocket;

/// Runs each `async fn(Mode)` twice, as `embedded::<name>` and `fleet::<name>`.
#[macro_export]
macro_rules! in_both_modes {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test] async fn $test() { super::$test(gpuproxy_integration_tests::Mode::Embedded).await })*
        }
        mod fleet {
            $(#[tokio::test] async fn $test() { super::$test(gpuproxy_integration_tests::Mode::Fleet).await })*
        }
    };
}
