//! `POST /v1/charges`: one idempotent charge per `Idempotency-Key`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::afterdark::auth;
use crate::afterdark::charge::Charge;
use crate::afterdark::errors::AfterDarkError;
use crate::afterdark::shared::AfterDarkShared;
use crate::canonical_json::sorted_compact;
use crate::clock::unix_seconds;
use crate::idempotency::{Claim, StoredResponse};
use crate::ids;

/// The longest `Idempotency-Key`, `customer` and `reference` accepted.
const MAX_TEXT_LEN: usize = 255;
/// The largest amount in cents: eight digits, as card processors cap it.
const MAX_AMOUNT: i64 = 99_999_999;
/// The body fields the endpoint knows; anything else is `invalid_request`.
const FIELDS: &[&str] = &["amount", "currency", "customer", "reference", "description"];

/// A validated charge request.
#[derive(Debug, Clone)]
struct ChargeRequest {
    amount: i64,
    currency: String,
    customer: String,
    reference: String,
    description: Option<String>,
}

/// Handles `POST /v1/charges`.
pub(crate) async fn create_charge(
    State(after_dark): State<Arc<AfterDarkShared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(status) = after_dark.fail_next.take() {
        return AfterDarkError::injected(status).into_response();
    }
    if let Err(error) = auth::check(&headers, &after_dark.api_key) {
        return error.into_response();
    }
    let key = match idempotency_key(&headers) {
        Ok(key) => key,
        Err(error) => return error.into_response(),
    };
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    // Equal JSON is the same request whatever its spacing or key order.
    let fingerprint = match &parsed {
        Ok(value) => sorted_compact(value),
        Err(_) => format!("raw:{}", String::from_utf8_lossy(&body)),
    };
    let in_flight = match after_dark.idempotency.claim(key, fingerprint) {
        Claim::Execute(in_flight) => in_flight,
        Claim::Replay(stored) => return replay(stored),
        Claim::Mismatch => {
            return AfterDarkError::new(
                StatusCode::CONFLICT,
                "idempotency_conflict",
                format!("idempotency key {key:?} was first used with a different body"),
            )
            .into_response();
        }
        Claim::InUse => {
            return AfterDarkError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                format!("the first request with idempotency key {key:?} is still running"),
            )
            .into_response();
        }
    };
    // A refused request drops `in_flight`, which forgets the key: validation stores nothing.
    let request = match parsed
        .map_err(|_| AfterDarkError::invalid_request("body must be JSON"))
        .and_then(|value| ChargeRequest::parse(&value))
    {
        Ok(request) => request,
        Err(error) => return error.into_response(),
    };
    let body = execute(&after_dark, request).to_json();
    in_flight.complete(StoredResponse {
        status: StatusCode::CREATED,
        body: body.clone(),
    });
    (StatusCode::CREATED, Json(body)).into_response()
}

fn execute(after_dark: &AfterDarkShared, request: ChargeRequest) -> Charge {
    let mut state = after_dark.state();
    let charge = Charge {
        id: ids::hex("adch_", 12),
        succeeded: !state.decline,
        amount: request.amount,
        currency: request.currency,
        customer: request.customer,
        reference: request.reference,
        description: request.description,
        created: unix_seconds(),
    };
    state.charges.push(charge.clone());
    charge
}

fn idempotency_key(headers: &HeaderMap) -> Result<&str, AfterDarkError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Err(AfterDarkError::new(
            StatusCode::BAD_REQUEST,
            "idempotency_key_missing",
            "send an Idempotency-Key header with every charge",
        ));
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_TEXT_LEN => Ok(key),
        _ => Err(AfterDarkError::invalid_request(format!(
            "Idempotency-Key must be 1 to {MAX_TEXT_LEN} printable characters"
        ))),
    }
}

fn replay(stored: StoredResponse) -> Response {
    let mut response = (stored.status, Json(stored.body)).into_response();
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

impl ChargeRequest {
    fn parse(value: &Value) -> Result<Self, AfterDarkError> {
        let Value::Object(fields) = value else {
            return Err(AfterDarkError::invalid_request("body must be a JSON object"));
        };
        if let Some(unknown) = fields.keys().find(|key| !FIELDS.contains(&key.as_str())) {
            return Err(AfterDarkError::invalid_request(format!(
                "unknown field {unknown:?}"
            )));
        }
        let amount = fields
            .get("amount")
            .and_then(Value::as_i64)
            .filter(|amount| (1..=MAX_AMOUNT).contains(amount))
            .ok_or_else(|| {
                AfterDarkError::invalid_request(format!(
                    "amount must be an integer number of cents from 1 to {MAX_AMOUNT}"
                ))
            })?;
        let currency = required_text(fields, "currency")?;
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(AfterDarkError::invalid_request(
                "currency must be a lowercase ISO-4217 code such as usd",
            ));
        }
        let description = match fields.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => {
                return Err(AfterDarkError::invalid_request("description must be a string"));
            }
        };
        Ok(Self {
            amount,
            currency,
            customer: required_text(fields, "customer")?,
            reference: required_text(fields, "reference")?,
            description,
        })
    }
}

fn required_text(fields: &Map<String, Value>, name: &str) -> Result<String, AfterDarkError> {
    match fields.get(name).and_then(Value::as_str) {
        Some(text) if !text.is_empty() && text.len() <= MAX_TEXT_LEN => Ok(text.to_owned()),
        _ => Err(AfterDarkError::invalid_request(format!(
            "{name} must be a string of 1 to {MAX_TEXT_LEN} characters"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_complete_body_is_valid_and_amounts_must_be_whole_cents() {
        let body = json!({"amount": 1250, "currency": "usd", "customer": "u1", "reference": "r1"});
        let request = ChargeRequest::parse(&body).unwrap();
        assert_eq!((request.amount, request.description), (1250, None));
        for bad in [json!(12.5), json!("1250"), json!(0), json!(-5)] {
            let mut body = body.clone();
            body["amount"] = bad;
            assert_eq!(ChargeRequest::parse(&body).unwrap_err().code, "invalid_request");
        }
    }

    #[test]
    fn unknown_fields_and_missing_references_are_refused() {
        let extra = json!({"amount": 100, "currency": "usd", "customer": "u", "reference": "r", "tip": 1});
        assert!(ChargeRequest::parse(&extra).is_err());
        let missing = json!({"amount": 100, "currency": "usd", "customer": "u"});
        assert!(ChargeRequest::parse(&missing).is_err());
    }
}
