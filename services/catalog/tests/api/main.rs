//! The catalog's provider clients against the provider simulator, over real HTTP.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "tests fail loudly on a broken fixture"
)]

mod faults;
mod helpers;
mod instances;
mod listing;
mod spec_shapes;
mod validation;
