//! The steps every Stripe POST shares before and after its own work: injected failures, the key
//! check, form decoding and idempotency (spec A2).

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::idempotency::{Claim, StoredResponse};
use crate::stripe::auth;
use crate::stripe::error_body::{ErrorType, StripeError};
use crate::stripe::form::FormParams;
use crate::stripe::shared::StripeShared;

/// Stripe's limit on `Idempotency-Key`.
const MAX_KEY_LEN: usize = 255;

/// How an endpoint's own work ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// It ran (successes and card declines alike): the answer is stored under the key.
    Executed { status: StatusCode, body: Value },
    /// It was refused before running: nothing is stored, so a retry with the key runs anew.
    Rejected(StripeError),
}

/// What the endpoint learns about the request besides its form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PostContext<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) idempotency_key: Option<&'a str>,
}

/// Runs `execute` for a POST to `path` unless a failure is injected, the key is wrong, or the
/// idempotency key says to replay or refuse; stores executed answers under the key.
pub(crate) async fn run(
    stripe: &StripeShared,
    headers: &HeaderMap,
    body: &[u8],
    path: &str,
    request_id: &str,
    execute: impl FnOnce(&FormParams, PostContext<'_>) -> Outcome,
) -> Response {
    if let Some(status) = stripe.fail_next.take() {
        return injected_failure(status);
    }
    if let Err(error) = auth::check(headers, &stripe.secret_key) {
        return error_response(&error);
    }
    let Ok(form) = FormParams::parse(body) else {
        return error_response(&StripeError::invalid_request(
            "Invalid request body: expected application/x-www-form-urlencoded parameters.",
        ));
    };
    let idempotency_key = match headers.get("idempotency-key").map(HeaderValue::to_str) {
        None => None,
        Some(Ok(key)) if key.len() <= MAX_KEY_LEN => Some(key),
        Some(_) => {
            return error_response(&StripeError::invalid_request(format!(
                "Invalid Idempotency-Key: it must be printable text of at most {MAX_KEY_LEN} characters."
            )));
        }
    };
    let in_flight = match idempotency_key {
        None => None,
        Some(key) => match stripe
            .idempotency
            .claim(key, format!("POST {path}?{}", form.fingerprint()))
        {
            Claim::Execute(in_flight) => Some(in_flight),
            Claim::Replay(stored) => return replay(stored),
            Claim::Mismatch => return error_response(&mismatch(key)),
            Claim::InUse => return error_response(&in_use(key)),
        },
    };
    stripe.pass_execution_gate().await;
    let context = PostContext {
        request_id,
        idempotency_key,
    };
    match execute(&form, context) {
        Outcome::Executed { status, body } => {
            if let Some(in_flight) = in_flight {
                in_flight.complete(StoredResponse {
                    status,
                    body: body.clone(),
                });
            }
            (status, Json(body)).into_response()
        }
        // Dropping `in_flight` here forgets the key.
        Outcome::Rejected(error) => error_response(&error),
    }
}

/// Returns the error as Stripe sends it: its status and `{"error": {...}}`.
pub(crate) fn error_response(error: &StripeError) -> Response {
    let mut response = (error.status, Json(error.body())).into_response();
    if matches!(error.status, StatusCode::CONFLICT | StatusCode::TOO_MANY_REQUESTS)
        || error.status.is_server_error()
    {
        response
            .headers_mut()
            .insert("stripe-should-retry", HeaderValue::from_static("true"));
    }
    response
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = (stored.status, Json(stored.body)).into_response();
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

fn mismatch(key: &str) -> StripeError {
    StripeError::new(
        StatusCode::BAD_REQUEST,
        ErrorType::Idempotency,
        format!(
            "Keys for idempotent requests can only be used with the same parameters they were \
             first used with. Try using a key other than '{key}' if you meant to execute a \
             different request."
        ),
    )
}

fn in_use(key: &str) -> StripeError {
    StripeError::new(
        StatusCode::CONFLICT,
        ErrorType::Idempotency,
        format!(
            "There is currently another in-progress request using this Idempotent Key (that \
             probably means you submitted twice, and the other request is still going through): \
             '{key}'. Please try again later."
        ),
    )
    .code("idempotency_key_in_use")
}

/// Answers a `fail_next` failure as Stripe would: a 429 is a rate limit, anything else an
/// `api_error`; an invalid status number answers 500.
fn injected_failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::TOO_MANY_REQUESTS {
        let error = StripeError::new(
            status,
            ErrorType::InvalidRequest,
            "Request rate limit exceeded. Learn more about rate limits here \
             https://stripe.com/docs/rate-limits.",
        )
        .code("rate_limit");
        let mut response = error_response(&error);
        response.headers_mut().insert(
            "stripe-rate-limited-reason",
            HeaderValue::from_static("global-rate"),
        );
        return response;
    }
    error_response(&StripeError::new(
        status,
        ErrorType::Api,
        "An unknown error occurred (simulated by the fake).",
    ))
}
