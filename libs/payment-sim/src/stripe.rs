//! `FakeStripe`: the PaymentIntents API, idempotency and signed webhooks of spec Part A.

mod auth;
mod cancel;
mod create;
mod create_params;
mod error_body;
mod events;
mod form;
mod idempotent_post;
mod payment_intent;
mod request_log;
mod retrieve;
mod shared;
mod test_cards;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use tokio::sync::{OwnedRwLockWriteGuard, RwLock};

use crate::fail_next::FailNext;
use crate::idempotency::IdempotencyStore;
use crate::serve::RunningServer;
use crate::stripe::error_body::{ErrorType, StripeError};
use crate::stripe::idempotent_post::error_response;
use crate::stripe::shared::{StripeShared, StripeState};

/// How long the fake waits for a webhook receiver to answer.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// A fake Stripe account serving `/v1/payment_intents` on `127.0.0.1`, until dropped.
pub struct FakeStripe {
    shared: Arc<StripeShared>,
    server: RunningServer,
}

/// How [`FakeStripe::send_event`] signs and names an event, to provoke the receiver's rejections.
#[derive(Debug, Default, Clone)]
pub struct SendOptions {
    /// Reuses an event id, as a redelivery (or a replay attack) would; `None` makes a new one.
    pub event_id: Option<String>,
    /// Seconds added to the signature timestamp `t`; negative is in the past (stale).
    pub timestamp_offset_secs: i64,
    /// Signs with this secret instead of the endpoint's (a wrong secret).
    pub secret: Option<String>,
}

/// While held, every POST that gets past its idempotency check waits before executing, so a
/// second request with the same key sees `409 idempotency_key_in_use`. Dropping it lets them run.
#[derive(Debug)]
pub struct ExecutionHold {
    _writer: OwnedRwLockWriteGuard<()>,
}

impl FakeStripe {
    /// Starts an account that accepts `secret_key` and signs events with `webhook_secret`.
    pub async fn start(secret_key: &str, webhook_secret: &str) -> anyhow::Result<FakeStripe> {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .build()
            .context("building the webhook client")?;
        let shared = Arc::new(StripeShared {
            secret_key: secret_key.to_owned(),
            webhook_secret: webhook_secret.to_owned(),
            livemode: secret_key.starts_with("sk_live_"),
            state: Mutex::new(StripeState::default()),
            idempotency: IdempotencyStore::default(),
            fail_next: FailNext::default(),
            execution_gate: Arc::new(RwLock::new(())),
            parked_executions: AtomicUsize::new(0),
            http,
        });
        let server = RunningServer::start("stripe", router(Arc::clone(&shared))).await?;
        Ok(FakeStripe { shared, server })
    }

    /// Returns `http://127.0.0.1:PORT`; clients append `/v1/...`.
    pub fn base_url(&self) -> String {
        self.server.origin()
    }

    /// Sets where events from [`FakeStripe::complete`] and [`FakeStripe::send_event`] are POSTed.
    pub fn set_webhook_url(&self, url: &str) {
        self.shared.state().webhook_url = Some(url.to_owned());
    }

    /// With `on`, PaymentIntents that would succeed answer `processing` instead, until
    /// [`FakeStripe::complete`] settles them; declines stay immediate.
    pub fn set_async(&self, on: bool) {
        self.shared.state().settle_asynchronously = on;
    }

    /// Makes the next `times` POSTs answer `status` (429 as `rate_limit`, others as `api_error`)
    /// before authentication, without executing or storing anything under their idempotency key.
    pub fn fail_next(&self, status: u16, times: usize) {
        self.shared.fail_next.set(status, times);
    }

    /// Returns how many PaymentIntents were actually created (replays and refusals not counted).
    pub fn executed_count(&self) -> usize {
        self.shared.state().executed
    }

    /// Returns the PaymentIntent object `id` as `GET /v1/payment_intents/{id}` would.
    pub fn payment_intent(&self, id: &str) -> Option<serde_json::Value> {
        self.shared
            .state()
            .payment_intent(id)
            .map(|intent| intent.to_json())
    }

    /// Returns every PaymentIntent object, oldest first.
    pub fn payment_intents(&self) -> Vec<serde_json::Value> {
        let state = self.shared.state();
        state
            .payment_intents
            .iter()
            .map(|intent| intent.to_json())
            .collect()
    }

    /// Returns every raw request body received, in arrival order (GETs record an empty string),
    /// so tests can check that no card number ever reached the processor.
    pub fn raw_requests(&self) -> Vec<String> {
        self.shared.state().raw_requests.clone()
    }

    /// Returns every event sent to the webhook so far, oldest first.
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.shared.state().events.clone()
    }

    /// Makes POSTs wait before executing until the returned hold is dropped.
    pub async fn hold_executions(&self) -> ExecutionHold {
        ExecutionHold {
            _writer: Arc::clone(&self.shared.execution_gate).write_owned().await,
        }
    }

    /// Returns how many POSTs are waiting on an [`ExecutionHold`] right now.
    pub fn held_executions(&self) -> usize {
        self.shared.parked_executions.load(Ordering::SeqCst)
    }

    /// Moves a `processing` PI to succeeded (amount_received = amount) or failed (back to
    /// `requires_payment_method` with `last_payment_error` card_declined) and POSTs the matching
    /// event (`payment_intent.succeeded` / `payment_intent.payment_failed`) to the webhook url,
    /// signed. Returns the event id and the receiver's HTTP status.
    ///
    /// Fails, changing nothing, when no webhook url is set or the PI is not `processing`.
    pub async fn complete(&self, pi_id: &str, succeed: bool) -> anyhow::Result<(String, u16)> {
        events::complete(&self.shared, pi_id, succeed).await
    }

    /// Sends an arbitrary event for a PI with signing options, for rejection tests. The event
    /// carries the PI as it is now; the PI itself does not change.
    pub async fn send_event(
        &self,
        event_type: &str,
        pi_id: &str,
        options: SendOptions,
    ) -> anyhow::Result<(String, u16)> {
        events::send_event(&self.shared, event_type, pi_id, options).await
    }
}

impl fmt::Debug for FakeStripe {
    /// Shows the address only: the state holds secrets and every request body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeStripe")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

fn router(shared: Arc<StripeShared>) -> Router {
    Router::new()
        .route("/v1/payment_intents", post(create::create_payment_intent))
        .route("/v1/payment_intents/{id}", get(retrieve::retrieve_payment_intent))
        .route(
            "/v1/payment_intents/{id}/cancel",
            post(cancel::cancel_payment_intent),
        )
        .fallback(unrecognized_url)
        .method_not_allowed_fallback(unrecognized_url)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            request_log::log_request,
        ))
        .with_state(shared)
}

async fn unrecognized_url(request: Request) -> Response {
    error_response(&StripeError::new(
        StatusCode::NOT_FOUND,
        ErrorType::InvalidRequest,
        format!(
            "Unrecognized request URL ({}: {}). Please see https://stripe.com/docs or we can \
             help at https://support.stripe.com/.",
            request.method(),
            request.uri().path()
        ),
    ))
}
