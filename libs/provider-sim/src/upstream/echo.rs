//! The health check and the catch-all echo of an upstream listener.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde_json::{Value, json};

use super::UpstreamContext;

/// Answers `GET /health` with the instance it belongs to.
pub(crate) async fn health(State(context): State<UpstreamContext>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "instance_id": context.target.instance_id(),
        "provider": context.target.provider().name(),
    }))
}

/// Answers any other request by describing it, so a proxy test can see exactly what arrived.
pub(crate) async fn echo(
    State(context): State<UpstreamContext>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let mut header_map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        header_map
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    Json(json!({
        "instance_id": context.target.instance_id(),
        "provider": context.target.provider().name(),
        "method": method.as_str(),
        "path": uri.path(),
        "query": uri.query(),
        "headers": header_map,
        "body": String::from_utf8_lossy(&body),
    }))
}
