//! Records every API request a provider receives, so tests can check what a client sent.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;
use serde::Serialize;
use serde_json::Value;

use crate::state::ProviderContext;

/// Largest request body the simulator reads; real clients send a few kilobytes at most.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Headers kept verbatim in a recording; everything else is dropped.
const KEPT_HEADERS: [&str; 3] = ["content-type", "user-agent", "accept"];

/// Credential headers whose presence is kept but whose value is replaced by `"<redacted>"`.
const CREDENTIAL_HEADERS: [&str; 2] = ["authorization", "x-api-key"];

/// One API request as the simulator received it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecordedRequest {
    /// Upper-case HTTP method.
    pub method: String,
    /// Path without the query string, e.g. `/api/v0/bundles/`.
    pub path: String,
    /// Raw query string without the `?`, if there was one.
    pub query: Option<String>,
    /// Lower-case names: `content-type`, `user-agent`, `accept` with their values, and
    /// `authorization`/`x-api-key` as `"<redacted>"` when present.
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON; `None` when it was empty or not JSON.
    pub body: Option<Value>,
}

impl RecordedRequest {
    fn new(parts: &Parts, body: &[u8]) -> Self {
        let mut headers = BTreeMap::new();
        for name in KEPT_HEADERS {
            if let Some(value) = parts.headers.get(name) {
                headers.insert(
                    name.to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                );
            }
        }
        for name in CREDENTIAL_HEADERS {
            if parts.headers.contains_key(name) {
                headers.insert(name.to_owned(), "<redacted>".to_owned());
            }
        }
        Self {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body: serde_json::from_slice(body).ok(),
        }
    }
}

/// Buffers the body, records the request, then passes it on unchanged.
pub(crate) async fn record_request(
    State(context): State<ProviderContext>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    context
        .state
        .record(context.provider, RecordedRequest::new(&parts, &bytes));
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}
