//! `POST /api/v1/acp`: `{"header": {"sender", "message_type", "message_id"}, "payload": {"command",
//! "parameters"}}`, answered with a `response` message whose payload carries the result or the error.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::agent_actions::{AgentActions, Outcome};
use crate::agent_protocols::{AGENT_NAME, Caller, arguments_of, error_object, refused_object, run};
use crate::error::ErrorBody;
use crate::rest::json_body::JsonBody;

/// Runs the command an ACP message carries.
#[utoipa::path(post, path = "/api/v1/acp", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = Value, description = "`{\"header\": {\"sender\": \"my-agent\", \"message_type\": \"command\"}, \"payload\": {\"command\": \"gpu.list\", \"parameters\": {\"provider\": \"all\"}}}`"),
    responses(
        (status = 200, description = "`{header: {sender, receiver, message_type: response, in_reply_to}, payload: {status: success|error, result|error}}`", body = Value),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn acp(
    State(actions): State<AgentActions>,
    caller: Caller,
    JsonBody(message): JsonBody<Value>,
) -> Json<Value> {
    Json(answer(&actions, &caller, &message).await)
}

/// Answers one ACP message.
pub async fn answer(actions: &AgentActions, caller: &Caller, message: &Value) -> Value {
    let header = &message["header"];
    let payload = &message["payload"];
    let command = payload.get("command").and_then(Value::as_str).unwrap_or_default();
    let payload = match run(actions, caller, command, arguments_of(payload.get("parameters"))).await {
        Ok(Outcome::Done(result)) => json!({"status": "success", "command": command, "result": result}),
        Ok(Outcome::Failed { code, message }) => {
            json!({"status": "error", "command": command, "error": error_object(code, &message)})
        }
        Err(refused) => json!({"status": "error", "command": command, "error": refused_object(&refused)}),
    };
    json!({
        "header": {
            "sender": AGENT_NAME,
            "receiver": header.get("sender").cloned().unwrap_or(Value::Null),
            "message_type": "response",
            "in_reply_to": header.get("message_id").cloned().unwrap_or(Value::Null),
            "conversation_id": header.get("conversation_id").cloned().unwrap_or(Value::Null),
        },
        "payload": payload,
    })
}
