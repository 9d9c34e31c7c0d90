//! The billing service: each user's credits as an append-only ledger in integer micro-dollars (the
//! balance is always the sum of the entries), payments through Stripe, a crypto processor and
//! AfterDark, and metered usage debited against an overage cap — atomically, so that concurrent
//! spending can never pass it.
//!
//! Layout: `service.rs` holds the shared state; the use cases are `ledger.rs` (credits, admin
//! credits, settings, usage), `payments.rs` (start, settle exactly once, look up late ones) and
//! `webhooks.rs` (signed processor callbacks); `method.rs` validates what a caller pays with (never a
//! raw card); `processor/` holds the three processors behind one trait; `repo/` the tables;
//! `grpc.rs` is the internal API; `app.rs` builds and runs it.

mod app;
mod config;
mod error;
mod grpc;
mod holds;
mod ledger;
mod method;
mod payments;
mod processor;
mod renew;
mod repo;
mod service;
mod webhooks;

pub use app::App;
pub use config::{Config, CreditSettings, ProcessorCalls};
pub use error::Error;
pub use grpc::credits_message;
pub use ledger::{MAX_AMOUNT_MICROS, NewUsage, UsageRecorded, cap_reached};
pub use payments::{Applied, NewPayment, Purpose};
pub use processor::{Outcome, PaymentProcessor, ProcessorError};
pub use renew::Renewal;
pub use repo::ledger::{AccountRow, EntryRow};
pub use repo::payments::PaymentRow;
pub use repo::usage::UsageRow;
pub use service::Billing;
pub use webhooks::{STRIPE_TOLERANCE_SECS, verify_stripe_signature};
