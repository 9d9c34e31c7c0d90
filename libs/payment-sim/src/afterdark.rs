//! `FakeAfterDark`: our generic HTTP billing API (contract in the crate docs).

mod auth;
mod charge;
mod create_charge;
mod errors;
mod get_charge;
mod shared;

use std::fmt;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;

use crate::afterdark::errors::AfterDarkError;
use crate::afterdark::shared::{AfterDarkShared, AfterDarkState};
use crate::fail_next::FailNext;
use crate::idempotency::IdempotencyStore;
use crate::serve::RunningServer;

/// A fake AfterDark account serving `/v1/charges` on `127.0.0.1`, until dropped.
pub struct FakeAfterDark {
    shared: Arc<AfterDarkShared>,
    server: RunningServer,
}

impl FakeAfterDark {
    /// Starts an account that accepts `api_key` as a bearer token.
    pub async fn start(api_key: &str) -> anyhow::Result<FakeAfterDark> {
        let shared = Arc::new(AfterDarkShared {
            api_key: api_key.to_owned(),
            state: Mutex::new(AfterDarkState::default()),
            idempotency: IdempotencyStore::default(),
            fail_next: FailNext::default(),
        });
        let server = RunningServer::start("afterdark", router(Arc::clone(&shared))).await?;
        Ok(FakeAfterDark { shared, server })
    }

    /// Returns `http://127.0.0.1:PORT`; clients append `/v1/charges`.
    pub fn base_url(&self) -> String {
        self.server.origin()
    }

    /// With `on`, new charges are created `failed` with `card_declined` (still `201`).
    pub fn set_decline(&self, on: bool) {
        self.shared.state().decline = on;
    }

    /// Makes the next `times` POSTs answer `status` (429 `rate_limited`, 5xx `internal_error`)
    /// before authentication, without executing or storing anything under their key.
    pub fn fail_next(&self, status: u16, times: usize) {
        self.shared.fail_next.set(status, times);
    }

    /// Returns how many charges were created (replays and refusals not counted).
    pub fn executed_count(&self) -> usize {
        self.shared.state().charges.len()
    }

    /// Returns every charge object, oldest first.
    pub fn charges(&self) -> Vec<Value> {
        let state = self.shared.state();
        state.charges.iter().map(|charge| charge.to_json()).collect()
    }

    /// Returns the charge object `id`, as `GET /v1/charges/{id}` would.
    pub fn charge(&self, id: &str) -> Option<Value> {
        let state = self.shared.state();
        state
            .charges
            .iter()
            .find(|charge| charge.id == id)
            .map(|charge| charge.to_json())
    }
}

impl fmt::Debug for FakeAfterDark {
    /// Shows the address only: the state holds the API key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeAfterDark")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

fn router(shared: Arc<AfterDarkShared>) -> Router {
    Router::new()
        .route("/v1/charges", post(create_charge::create_charge))
        .route("/v1/charges/{id}", get(get_charge::get_charge))
        .fallback(not_found)
        .with_state(shared)
}

async fn not_found() -> Response {
    AfterDarkError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}
