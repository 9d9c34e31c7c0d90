//! The webhooks service's tables: `subscriptions.rs` and `deliveries.rs`.

pub mod deliveries;
pub mod subscriptions;
