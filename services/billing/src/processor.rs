//! The payment processors behind one trait: Stripe PaymentIntents, a NOWPayments-style crypto
//! processor and the AfterDark billing API. Each call is bounded by `PAYMENT_TIMEOUT` and retried on
//! failures on the way (connection, 409, 429, 5xx) with the same idempotency key, so a retry never
//! charges twice.

mod afterdark;
mod crypto;
mod http;
mod stripe;

use futures::future::BoxFuture;
use gpuproxy_domain::UserId;

pub use afterdark::AfterDark;
pub use crypto::{Crypto, verify_ipn};
pub use http::HttpCalls;
pub use stripe::{Stripe, outcome_of as stripe_outcome};

use crate::method::PaymentMethod;

/// One charge to start.
#[derive(Debug, Clone, Copy)]
pub struct Charge<'a> {
    /// Our payment id: the processor's idempotency key and our reference in its metadata.
    pub payment_id: &'a str,
    /// Who pays.
    pub user_id: UserId,
    /// In whole cents (checked before any processor is called).
    pub amount_cents: i64,
    /// `usd`.
    pub currency: &'a str,
    /// What with.
    pub method: &'a PaymentMethod,
    /// Where the processor should send its callbacks, when it sends any.
    pub callback_url: Option<&'a str>,
    /// The user is not there to confirm (auto-renewal): a charge that needs them fails instead.
    pub off_session: bool,
}

/// Where a charge stands at the processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The money arrived: credit `received_micros`.
    Settled {
        /// The processor's id.
        reference: String,
        /// What was received.
        received_micros: i64,
    },
    /// Waiting on the payer or the network; a webhook (or a lookup) settles it later.
    Pending {
        /// The processor's id.
        reference: String,
        /// Where the payer sends the money (a crypto address), if anywhere.
        pay_to: String,
        /// How much to send there, in `pay_currency`.
        pay_amount: String,
        /// The coin.
        pay_currency: String,
    },
    /// Declined, failed or expired: nothing was received.
    Declined {
        /// The processor's id, when it made one.
        reference: Option<String>,
        /// Why, in the processor's words (never card data: processors only echo codes and text).
        reason: String,
    },
}

/// Why a processor call did not give an outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessorError {
    /// It could not be reached or kept failing: the charge may or may not exist.
    #[error("{0}")]
    Unreachable(String),
    /// It refused the request before acting (bad parameters, bad key): nothing was charged.
    #[error("{0}")]
    Refused(String),
}

/// One payment processor.
pub trait PaymentProcessor: Send + Sync + std::fmt::Debug {
    /// Starts (and, where the processor can, completes) a charge.
    fn charge<'a>(&'a self, charge: Charge<'a>) -> BoxFuture<'a, Result<Outcome, ProcessorError>>;

    /// Looks a charge up by the processor's id: the authority over any webhook.
    fn lookup<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<Outcome, ProcessorError>>;
}

/// Converts whole cents to micro-dollars.
pub const fn cents_to_micros(cents: i64) -> i64 {
    cents.saturating_mul(10_000)
}
