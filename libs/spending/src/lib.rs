//! The one money path. Every caller that spends (a rent, a proxied request, and the inference and
//! agent actions to come) goes through [`Spending`], which coordinates the guard rails and billing in
//! the same order with the same give-backs: a guard-rail reservation or credit hold first, the
//! billing debit next, and the reservation given back when the spending did not happen.
//!
//! Layout: `spending.rs` holds the two clients and the call limit; `admission.rs` admits spending
//! ahead of time (a credit hold and a guard-rail reservation, given back in part or whole);
//! `charge.rs` charges one priced use at once; `usage.rs` bills what was used under an admission;
//! `refusal.rs` is what every step answers when it says no.

mod admission;
mod charge;
mod refusal;
mod spending;
mod usage;

pub use charge::Charge;
pub use refusal::Refusal;
pub use spending::Spending;
