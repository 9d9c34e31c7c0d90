//! The state every Stripe handler and test hook shares.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::RwLock;

use crate::fail_next::FailNext;
use crate::idempotency::IdempotencyStore;
use crate::stripe::payment_intent::PaymentIntent;

/// Everything behind one fake Stripe account; handlers get it as `State<Arc<StripeShared>>`.
#[derive(Debug)]
pub(crate) struct StripeShared {
    pub(crate) secret_key: String,
    pub(crate) webhook_secret: String,
    /// `true` for an `sk_live_…` key: objects then say `livemode: true`.
    pub(crate) livemode: bool,
    pub(crate) state: Mutex<StripeState>,
    pub(crate) idempotency: IdempotencyStore,
    pub(crate) fail_next: FailNext,
    /// Executions take it for reading; `FakeStripe::hold_executions` takes it for writing, so
    /// requests park after claiming their idempotency key.
    pub(crate) execution_gate: Arc<RwLock<()>>,
    /// How many requests are parked at the gate right now.
    pub(crate) parked_executions: AtomicUsize,
    /// Delivers webhook events.
    pub(crate) http: reqwest::Client,
}

/// What the account holds and has seen; tests read it through `FakeStripe`.
#[derive(Debug, Default)]
pub(crate) struct StripeState {
    /// In creation order.
    pub(crate) payment_intents: Vec<PaymentIntent>,
    /// PaymentIntents created by an execution; replays and rejected requests do not count.
    pub(crate) executed: usize,
    /// Every request body received, in arrival order (empty for GETs).
    pub(crate) raw_requests: Vec<String>,
    /// Every event sent to the webhook, in sending order.
    pub(crate) events: Vec<serde_json::Value>,
    pub(crate) webhook_url: Option<String>,
    /// When set, PaymentIntents that would succeed stay `processing` until `complete`.
    pub(crate) settle_asynchronously: bool,
}

impl StripeShared {
    /// Locks the state; a panic in another holder leaves it usable, as a test fake should be.
    pub(crate) fn state(&self) -> MutexGuard<'_, StripeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits while tests hold executions, counting this request as parked meanwhile.
    pub(crate) async fn pass_execution_gate(&self) {
        self.parked_executions.fetch_add(1, Ordering::SeqCst);
        let pass = self.execution_gate.read().await;
        self.parked_executions.fetch_sub(1, Ordering::SeqCst);
        drop(pass);
    }
}

impl StripeState {
    /// Returns the PaymentIntent `id`, for reading.
    pub(crate) fn payment_intent(&self, id: &str) -> Option<&PaymentIntent> {
        self.payment_intents.iter().find(|intent| intent.id == id)
    }

    /// Returns the PaymentIntent `id`, for changing.
    pub(crate) fn payment_intent_mut(&mut self, id: &str) -> Option<&mut PaymentIntent> {
        self.payment_intents.iter_mut().find(|intent| intent.id == id)
    }
}
