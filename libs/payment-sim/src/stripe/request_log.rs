//! What happens to every request before routing: a `Request-Id` and a copy of the raw body.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ids;
use crate::stripe::shared::StripeShared;

/// The largest body the fake reads; Stripe's own limit is far above anything a client sends.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The `req_…` id of the request being handled, as handlers read it from the extensions.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(pub(crate) String);

/// Records the raw body (tests grep it for card numbers), assigns a request id and puts it on the
/// response as `Request-Id`, on every route including unknown ones.
pub(crate) async fn log_request(
    State(stripe): State<Arc<StripeShared>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    stripe
        .state()
        .raw_requests
        .push(String::from_utf8_lossy(&bytes).into_owned());
    let request_id = ids::alphanumeric("req_", 14);
    parts.extensions.insert(RequestId(request_id.clone()));
    let mut response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", value);
    }
    response
}
