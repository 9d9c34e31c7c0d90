//! `POST /api/v1/a2a` with the seed's simple body: `{"action": "gpu.list", "from_agent": "my-agent",
//! "parameters": {…}}`, answered with the action's result or why it failed. (A2A 1.0's JSON-RPC
//! binding and its tasks are served beside it by a later release.)

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::agent_actions::{AgentActions, Outcome};
use crate::agent_protocols::{AGENT_NAME, Caller, arguments_of, error_object, refused_object, run};
use crate::error::ErrorBody;
use crate::rest::json_body::JsonBody;

/// Runs the action a simple A2A message names and answers `status` `completed` with its `result`,
/// or `failed` with its `error` (`{code, message}`); `message_id` comes back as `in_reply_to`.
#[utoipa::path(post, path = "/api/v1/a2a", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = Value, description = "`{\"action\": \"gpu.list\", \"from_agent\": \"my-agent\", \"parameters\": {\"provider\": \"vast.ai\"}}`"),
    responses(
        (status = 200, description = "`{protocol, from_agent, to_agent, action, status: completed|failed, result, error, in_reply_to}`", body = Value),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn a2a(
    State(actions): State<AgentActions>,
    caller: Caller,
    JsonBody(message): JsonBody<Value>,
) -> Json<Value> {
    Json(answer(&actions, &caller, &message).await)
}

/// Answers one simple A2A message.
pub async fn answer(actions: &AgentActions, caller: &Caller, message: &Value) -> Value {
    let action = message.get("action").and_then(Value::as_str).unwrap_or_default();
    let mut reply = json!({
        "protocol": "a2a",
        "from_agent": AGENT_NAME,
        "to_agent": message.get("from_agent").cloned().unwrap_or(Value::Null),
        "action": action,
        "in_reply_to": message.get("message_id").cloned().unwrap_or(Value::Null),
        "result": Value::Null,
        "error": Value::Null,
    });
    let (status, field, value) =
        match run(actions, caller, action, arguments_of(message.get("parameters"))).await {
            Ok(Outcome::Done(result)) => ("completed", "result", result),
            Ok(Outcome::Failed { code, message }) => ("failed", "error", error_object(code, &message)),
            Err(refused) => ("failed", "error", refused_object(&refused)),
        };
    reply["status"] = json!(status);
    reply[field] = value;
    reply
}
