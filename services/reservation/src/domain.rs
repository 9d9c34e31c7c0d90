//! The reservation service's own types and pure rules.
//!
//! Layout: `status.rs` is an instance's lifecycle; `label.rs` ties a provider-side instance to its
//! row; `weight.rs` is the weighted strategy's weight of an instance; `offer_order.rs` orders the
//! offers a reservation tries.

mod label;
mod offer_order;
mod status;
mod weight;

pub use label::Labels;
pub use offer_order::order_offers;
pub use status::InstanceStatus;
pub use weight::weight_of;
