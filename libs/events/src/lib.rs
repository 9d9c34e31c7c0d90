//! Domain events and how they travel.
//!
//! Layout: `event.rs` is the envelope `{id, event, timestamp, data}` and [`names`] the event names
//! (the subject is `<prefix>.<name>`, e.g. `gpuproxy.auth.apikey.revoked`); `pattern.rs` matches
//! names against NATS-style patterns (`auth.>`, `*.created`); [`EventBus`] is the bus with exactly two
//! implementations, NATS JetStream (`nats_bus.rs`) and an in-process broadcast (`in_process_bus.rs`);
//! `durable.rs` is a
//! consumer that resumes after a restart and redelivers what was not acknowledged; `outbox.rs` writes events in the caller's transaction and relays them to the bus after commit, so
//! a crash or a bus outage delays events and never loses them.

mod bus;
mod durable;
mod event;
mod in_process_bus;
mod nats_bus;
mod outbox;
mod pattern;

pub use bus::{BusError, Delivery, EventBus, Subscription};
pub use durable::{ACK_WAIT, DurableSubscription, Received};
pub use event::{Event, names};
pub use outbox::{Outbox, OutboxError, OutboxRelay, RelaySettings};
pub use pattern::matches;

/// Returns the migrations of the outbox table, which every publishing service runs.
pub fn migrations() -> gpuproxy_db::Migrations {
    gpuproxy_db::Migrations::new("_events_migrations", sqlx::migrate!("../../migrations/events"))
}
