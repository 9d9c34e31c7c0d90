//! Newtypes shared across services. Each refuses invalid values in its constructor, so a value of
//! the type is valid by construction.
//!
//! Layout: `clock.rs` is the one clock (`now_ms`); otherwise one file per type: [`UserId`], [`Email`], [`UsdMicros`], [`Principal`], [`LbStrategy`],
//! [`SpendWindow`], [`Provider`].

mod card_number;
mod clock;
mod email;
pub mod launch;
mod lb_strategy;
mod money;
mod principal;
mod provider;
mod spend_window;
mod user_id;

pub use card_number::contains_card_number;
pub use clock::now_ms;
pub use email::{Email, EmailError};
pub use lb_strategy::{LbStrategy, UnknownLbStrategy};
pub use money::{MoneyError, UsdMicros};
pub use principal::{Credential, Principal};
pub use provider::{Provider, UnknownProvider};
pub use spend_window::{SpendWindow, UnknownSpendWindow};
pub use user_id::{UserId, UserIdError};
