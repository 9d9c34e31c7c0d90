//! vast.ai error answers, with the status codes and bodies of the spec (§1, §2.4, §3, §7).

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

/// An error answer of the vast.ai API.
#[derive(Debug)]
pub(crate) struct VastError {
    status: StatusCode,
    body: Value,
}

impl VastError {
    /// 401: the key is missing or wrong.
    pub(crate) fn invalid_user_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            json!({"success": false, "error": "auth_error", "msg": "Invalid user key"}),
        )
    }

    /// 400: the body is not JSON (search documents no `success` key here).
    pub(crate) fn invalid_json_body() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "msg": "Invalid json body"}),
        )
    }

    /// 400: the search query is JSON but not a valid query.
    pub(crate) fn invalid_request(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"error": "invalid_request", "msg": msg.into()}),
        )
    }

    /// 400: a create or manage argument is missing or invalid.
    pub(crate) fn invalid_args(msg: &str, ask_id: Option<u64>) -> Self {
        let msg = format!("error 400/3467: Invalid args: {msg}");
        let mut body = json!({"success": false, "error": "invalid_args", "msg": msg});
        if let (Some(ask_id), Value::Object(fields)) = (ask_id, &mut body) {
            fields.insert("ask_id".to_owned(), json!(ask_id));
        }
        Self::new(StatusCode::BAD_REQUEST, body)
    }

    /// 400: the bid price is outside what the offer accepts.
    pub(crate) fn invalid_price(msg: &str, ask_id: u64) -> Self {
        let msg = format!("error 400/3467: {msg}");
        let body = json!({"success": false, "error": "invalid_price", "msg": msg, "ask_id": ask_id});
        Self::new(StatusCode::BAD_REQUEST, body)
    }

    /// 404: the offer never existed or has disappeared.
    pub(crate) fn no_such_ask(ask_id: u64) -> Self {
        let msg = format!("error 404/3603: no_such_ask Instance type by id {ask_id} is not available.");
        Self::new(
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": "invalid_args", "msg": msg, "ask_id": ask_id}),
        )
    }

    /// 410: the offer exists but is rented or cannot start now.
    pub(crate) fn no_longer_available(ask_id: u64) -> Self {
        let msg = format!("error 410: Instance type by id {ask_id} is no longer available.");
        Self::new(
            StatusCode::GONE,
            json!({"success": false, "error": "no_such_ask", "msg": msg}),
        )
    }

    /// 400: an instance id in the path is not a number.
    pub(crate) fn invalid_instance_id() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "invalid_args", "msg": "invalid instance_id"}),
        )
    }

    /// 404 from start/stop/label: no such instance.
    pub(crate) fn no_such_instance(instance_id: u64) -> Self {
        let msg = format!("Instance {instance_id} not found");
        Self::new(
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": "no_such_instance", "msg": msg}),
        )
    }

    /// 404 from destroy: no such instance.
    pub(crate) fn instance_not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            json!({"success": false, "error": "not_found", "msg": "Instance not found"}),
        )
    }

    /// 400: a label longer than vast.ai accepts.
    pub(crate) fn label_too_long(limit: usize) -> Self {
        let msg = format!("label must be at most {limit} characters");
        Self::new(
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "label_too_long", "msg": msg}),
        )
    }

    /// 500: the simulator itself failed (binding an upstream listener).
    pub(crate) fn server_error(msg: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"success": false, "error": "server_error", "msg": msg}),
        )
    }

    fn new(status: StatusCode, body: Value) -> Self {
        Self { status, body }
    }
}

impl IntoResponse for VastError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}
