//! Stripe's error object (spec A3): `{"error": {"type", "code", "decline_code", "message",
//! "param", "doc_url", "request_log_url", "payment_intent", ...}}` with the matching status.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// One of the four error `type`s Stripe sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorType {
    Api,
    Card,
    Idempotency,
    InvalidRequest,
}

/// An error answer under construction; fields left unset are omitted, as Stripe omits them.
#[derive(Debug, Clone)]
pub(crate) struct StripeError {
    pub(crate) status: StatusCode,
    fields: Map<String, Value>,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::Api => "api_error",
            ErrorType::Card => "card_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::InvalidRequest => "invalid_request_error",
        }
    }
}

impl StripeError {
    /// Starts an error of `error_type` answering `status` with `message`.
    pub(crate) fn new(status: StatusCode, error_type: ErrorType, message: impl Into<String>) -> Self {
        let mut fields = Map::new();
        fields.insert("type".to_owned(), json!(error_type.as_str()));
        fields.insert("message".to_owned(), json!(message.into()));
        Self { status, fields }
    }

    /// Starts a `400 invalid_request_error`.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message)
    }

    /// Sets `code` and the matching `doc_url`.
    pub(crate) fn code(mut self, code: &str) -> Self {
        let doc_url = format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-"));
        self.fields.insert("code".to_owned(), json!(code));
        self.fields.insert("doc_url".to_owned(), json!(doc_url));
        self
    }

    /// Sets `param`, the offending parameter.
    pub(crate) fn param(self, param: &str) -> Self {
        self.field("param", json!(param))
    }

    /// Sets any other field (`decline_code`, `charge`, `payment_intent`, `request_log_url`).
    pub(crate) fn field(mut self, name: &str, value: Value) -> Self {
        self.fields.insert(name.to_owned(), value);
        self
    }

    /// Returns the inner object, as a PaymentIntent's `last_payment_error` holds it.
    pub(crate) fn object(&self) -> Value {
        Value::Object(self.fields.clone())
    }

    /// Returns the response body `{"error": {...}}`.
    pub(crate) fn body(&self) -> Value {
        json!({ "error": self.object() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_wraps_the_fields_in_error() {
        let error = StripeError::invalid_request("Missing required param: amount.")
            .code("parameter_missing")
            .param("amount");
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            error.body(),
            json!({"error": {
                "type": "invalid_request_error",
                "code": "parameter_missing",
                "doc_url": "https://stripe.com/docs/error-codes/parameter-missing",
                "message": "Missing required param: amount.",
                "param": "amount",
            }})
        );
    }
}
