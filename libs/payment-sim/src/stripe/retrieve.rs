//! `GET /v1/payment_intents/{id}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::stripe::auth;
use crate::stripe::error_body::{ErrorType, StripeError};
use crate::stripe::idempotent_post::error_response;
use crate::stripe::shared::StripeShared;

/// Handles `GET /v1/payment_intents/{id}`: the object, or `404 resource_missing`.
pub(crate) async fn retrieve_payment_intent(
    State(stripe): State<Arc<StripeShared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(error) = auth::check(&headers, &stripe.secret_key) {
        return error_response(&error);
    }
    match stripe.state().payment_intent(&id) {
        Some(intent) => Json(intent.to_json()).into_response(),
        None => error_response(&no_such_payment_intent(&id)),
    }
}

/// Returns the `404 resource_missing` Stripe answers for an unknown PaymentIntent id.
pub(crate) fn no_such_payment_intent(id: &str) -> StripeError {
    StripeError::new(
        StatusCode::NOT_FOUND,
        ErrorType::InvalidRequest,
        format!("No such payment_intent: '{id}'"),
    )
    .code("resource_missing")
    .param("intent")
}
