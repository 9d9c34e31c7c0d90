//! Contract tests of the fakes, over real HTTP with reqwest.

#![expect(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "helpers shared by the tests fail loudly on a broken fixture, as the tests do"
)]

mod afterdark;
mod nowpayments;
mod receiver;
mod signatures;
mod stripe_client;
mod stripe_idempotency;
mod stripe_payment_intents;
mod stripe_webhooks;
