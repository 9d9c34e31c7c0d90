//! The webhooks service: users subscribe a URL to domain events; every event of the stream that
//! concerns them becomes a signed POST, retried with exponential backoff and jitter for hours and
//! then dead-lettered, with a log of every delivery. Events come from a durable consumer, so a
//! restart or a NATS outage delays deliveries and loses none; an event read twice is delivered once.
//!
//! Layout: `service.rs` holds the shared state; `subscriptions.rs` the subscribe/list/delete/log use
//! cases, validated by `topics.rs` (event names) and `target.rs` (SSRF); `fanout.rs` turns events into
//! deliveries; `sender.rs` sends them, signed by `signature.rs`; `repo/` holds the tables; `grpc.rs`
//! is the internal API; `app.rs` builds and runs it.

mod app;
mod config;
mod error;
mod fanout;
mod grpc;
mod repo;
mod sender;
mod service;
mod signature;
mod subscriptions;
mod target;
mod topics;

pub use app::App;
pub use config::{Config, DeliverySettings};
pub use error::Error;
pub use fanout::CONSUMER;
pub use repo::deliveries::DeliveryRow;
pub use repo::subscriptions::SubscriptionRow;
pub use service::Webhooks;
pub use signature::SIGNATURE_HEADER;
pub use subscriptions::{NewSubscription, SubscriptionView};
pub use topics::BILLING_EVENTS;
