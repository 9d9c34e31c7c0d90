//! io.net error answers: FastAPI's `{"detail": ...}` bodies (spec §2 "Errors", §10).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use crate::ionet::validation::Issue;

/// An error answer of the io.net API.
#[derive(Debug)]
pub(crate) struct IonetError {
    status: StatusCode,
    detail: Value,
}

impl IonetError {
    /// 401: the `x-api-key` header is missing or wrong.
    pub(crate) fn invalid_api_key() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, json!("Invalid API key"))
    }

    /// 404 for an unknown deployment, with FastAPI's bare message.
    pub(crate) fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, json!("Not found"))
    }

    /// 404 naming what was not found (hardware, location, node pool).
    pub(crate) fn unknown(what: String) -> Self {
        Self::new(StatusCode::NOT_FOUND, json!(what))
    }

    /// 422 with FastAPI's list of validation issues.
    pub(crate) fn validation(issues: Vec<Issue>) -> Self {
        let detail: Vec<Value> = issues.into_iter().map(Issue::into_json).collect();
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, Value::Array(detail))
    }

    /// 409: the request conflicts with the account's state or the market's capacity.
    pub(crate) fn conflict(detail: String) -> Self {
        Self::new(StatusCode::CONFLICT, json!(detail))
    }

    /// 402: the credit balance does not cover the quote.
    pub(crate) fn insufficient_funds() -> Self {
        Self::new(StatusCode::PAYMENT_REQUIRED, json!("Insufficient funds"))
    }

    /// 500: the simulator itself failed (binding an upstream listener).
    pub(crate) fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, json!("Internal Server Error"))
    }

    fn new(status: StatusCode, detail: Value) -> Self {
        Self { status, detail }
    }
}

impl IntoResponse for IonetError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"detail": self.detail}))).into_response()
    }
}
