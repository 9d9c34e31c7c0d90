//! AfterDark's error body: `{"error": {"code", "message"}}` with the matching status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer; `code` is the stable part clients branch on.
#[derive(Debug, Clone)]
pub(crate) struct AfterDarkError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl AfterDarkError {
    /// Returns an error answering `status` with `code`.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// Returns `400 invalid_request`.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// Returns the answer to a `fail_next` failure: 429 `rate_limited`, 5xx `internal_error`,
    /// anything else `simulated_failure`; an invalid status number answers 500.
    pub(crate) fn injected(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = if status == StatusCode::TOO_MANY_REQUESTS {
            "rate_limited"
        } else if status.is_server_error() {
            "internal_error"
        } else {
            "simulated_failure"
        };
        Self::new(status, code, "simulated failure")
    }

    /// Returns the body `{"error": {"code", "message"}}`.
    pub(crate) fn body(&self) -> serde_json::Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

impl IntoResponse for AfterDarkError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
