//! The seed's simple A2A body at `POST /api/v1/a2a`: `{"action": "gpu.list", "from_agent":
//! "my-agent", "parameters": {…}}`, answered with the action's result or why it failed: `status`
//! `completed` with its `result`, or `failed` with its `error` (`{code, message}`); `message_id`
//! comes back as `in_reply_to`.

use serde_json::{Value, json};

use crate::agent_actions::{AgentActions, Outcome};
use crate::agent_protocols::{AGENT_NAME, Caller, arguments_of, error_object, refused_object, run};

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
