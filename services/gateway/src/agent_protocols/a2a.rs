//! A2A at `POST /api/v1/a2a`: the 1.0 JSON-RPC binding (and its 0.3 method names) when the body is
//! JSON-RPC (`jsonrpc.rs`), the seed's simple body otherwise (`a2a_simple.rs`); the agent card
//! (`card.rs`). `intent.rs` reads which action a message asks for; `wire.rs` draws tasks in each
//! dialect.

pub mod card;
mod intent;
pub mod jsonrpc;
mod wire;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::Value;

use crate::agent_actions::AgentActions;
use crate::agent_protocols::{Caller, a2a_simple};
use crate::error::ErrorBody;
use crate::rest::json_body::JsonBody;

/// Answers an A2A request: JSON-RPC (`SendMessage`, `SendStreamingMessage` as Server-Sent Events,
/// `GetTask`, `ListTasks`, `CancelTask`, `SubscribeToTask`, and their 0.3 names), or the seed's
/// simple body.
#[utoipa::path(post, path = "/api/v1/a2a", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    params(("A2A-Version" = Option<String>, Header, description = "The A2A version the client speaks: 1.0 (or 1.x) or 0.3 (the default)")),
    request_body(content = Value, description = "A2A JSON-RPC, e.g. `{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"SendMessage\", \"params\": {\"message\": {\"messageId\": \"m1\", \"role\": \"ROLE_USER\", \"parts\": [{\"data\": {\"action\": \"list_gpu_instances\", \"arguments\": {\"gpu_model\": \"4090\"}}}]}}}`, or the simple body `{\"action\": \"gpu.list\", \"from_agent\": \"my-agent\", \"parameters\": {…}}`"),
    responses(
        (status = 200, description = "JSON-RPC: `{jsonrpc, id, result}` or `{jsonrpc, id, error: {code, message, data}}` (A2A codes: -32001 task not found, -32002 not cancelable, -32003 push notifications unsupported, -32004 unsupported operation, -32009 version not supported, -32602 invalid params); `SendStreamingMessage` and `SubscribeToTask` answer `text/event-stream`, one JSON-RPC response per event, closed after the task ends. Simple body: `{protocol, from_agent, to_agent, action, status: completed|failed, result, error, in_reply_to}`",
            content((Value = "application/json"), (String = "text/event-stream"))),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn a2a(
    State(actions): State<AgentActions>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Value>,
) -> Response {
    if jsonrpc::is_jsonrpc(&body) {
        return jsonrpc::handle(&actions, &caller, &headers, body).await;
    }
    Json(a2a_simple::answer(&actions, &caller, &body).await).into_response()
}
