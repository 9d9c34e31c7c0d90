//! Operator routes under `/_sim/`: read and change faults, read market sizes. No provider auth.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{Value, json};

use crate::faults::Faults;
use crate::provider::SimProvider;
use crate::state::{SharedState, lock};

/// Returns the admin routes.
pub(crate) fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/_sim/faults/{provider}",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .route("/_sim/state", get(sim_state))
}

async fn get_faults(State(state): State<SharedState>, Path(provider): Path<String>) -> Response {
    match provider.parse::<SimProvider>() {
        Ok(provider) => Json(state.faults(provider)).into_response(),
        Err(error) => admin_error(StatusCode::NOT_FOUND, &error.to_string()),
    }
}

async fn put_faults(
    State(state): State<SharedState>,
    Path(provider): Path<String>,
    faults: Result<Json<Faults>, JsonRejection>,
) -> Response {
    let provider = match provider.parse::<SimProvider>() {
        Ok(provider) => provider,
        Err(error) => return admin_error(StatusCode::NOT_FOUND, &error.to_string()),
    };
    let Json(faults) = match faults {
        Ok(faults) => faults,
        Err(rejection) => return admin_error(StatusCode::BAD_REQUEST, &rejection.body_text()),
    };
    if !(0.0..=1.0).contains(&faults.error_rate) {
        return admin_error(StatusCode::BAD_REQUEST, "error_rate must be between 0 and 1");
    }
    state.set_faults(provider, faults);
    tracing::info!(provider = provider.name(), faults = ?state.faults(provider), "faults changed");
    Json(state.faults(provider)).into_response()
}

async fn clear_faults(State(state): State<SharedState>, Path(provider): Path<String>) -> Response {
    match provider.parse::<SimProvider>() {
        Ok(provider) => {
            state.set_faults(provider, Faults::default());
            Json(Faults::default()).into_response()
        }
        Err(error) => admin_error(StatusCode::NOT_FOUND, &error.to_string()),
    }
}

/// Answers with each provider's true market size; io.net also reports the credit balance.
async fn sim_state(State(state): State<SharedState>) -> Json<Value> {
    let credits = lock(&state.ionet).credits_usd();
    Json(json!({
        "vast.ai": {
            "offers": state.offer_count(SimProvider::VastAi),
            "instances": state.instance_count(SimProvider::VastAi),
        },
        "io.net": {
            "offers": state.offer_count(SimProvider::IoNet),
            "instances": state.instance_count(SimProvider::IoNet),
            "credits_usd": credits,
        },
    }))
}

fn admin_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}
