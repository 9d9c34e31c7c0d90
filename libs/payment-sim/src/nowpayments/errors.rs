//! NOWPayments' error body (spec B2): `{"status": false, "statusCode", "code", "message"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer; `code` is what clients branch on (`INVALID_API_KEY`, `AMOUNT_MINIMAL_ERROR`).
#[derive(Debug, Clone)]
pub(crate) struct NowPaymentsError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl NowPaymentsError {
    /// Returns a `400` with `code`.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// Returns the `400 INVALID_REQUEST_PARAMS` of a malformed field.
    pub(crate) fn invalid_params(message: impl Into<String>) -> Self {
        Self::bad_request("INVALID_REQUEST_PARAMS", message)
    }

    /// Returns the answer to a `fail_next` failure: 429 `TOO_MANY_REQUESTS`, else `INTERNAL_ERROR`.
    pub(crate) fn injected(status: u16) -> Self {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let code = if status == StatusCode::TOO_MANY_REQUESTS {
            "TOO_MANY_REQUESTS"
        } else {
            "INTERNAL_ERROR"
        };
        Self {
            status,
            code,
            message: "simulated failure".to_owned(),
        }
    }
}

impl IntoResponse for NowPaymentsError {
    fn into_response(self) -> Response {
        let body = json!({
            "status": false,
            "statusCode": self.status.as_u16(),
            "code": self.code,
            "message": self.message,
        });
        (self.status, Json(body)).into_response()
    }
}
