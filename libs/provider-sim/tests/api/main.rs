//! Black-box tests of the provider simulator over real HTTP, with reqwest as the client.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "a test fails loudly at the step that broke"
)]

mod admin;
mod auth;
mod faults;
mod helpers;
mod ionet_catalog;
mod ionet_deployments;
mod reproducibility;
mod shapes;
mod vastai_instances;
mod vastai_search;
