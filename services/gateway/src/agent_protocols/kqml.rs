//! `POST /api/v1/kqml`: KQML messages in JSON. `ask`, `ask-one`, `ask-all` and `ask-if` with
//! `content.query`, and `achieve` with `content.action`, run the action they name (by alias or by
//! name); the reply is `tell` with the result, `sorry` when it could not be done (with why), and
//! `error` for a message this agent cannot read. `reply-with` comes back as `in-reply-to`.

use axum::Json;
use axum::extract::State;
use gpuproxy_domain::Principal;
use serde_json::{Value, json};

use crate::agent_actions::{AgentActions, Outcome};
use crate::agent_protocols::{AGENT_NAME, action_and_arguments, error_object, refused_object, run};
use crate::error::ErrorBody;
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;

/// Answers a KQML message in its own terms.
#[utoipa::path(post, path = "/api/v1/kqml", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = Value, description = "`{\"performative\": \"ask\", \"sender\": \"my-agent\", \"content\": {\"query\": \"gpu-instances\"}}`"),
    responses(
        (status = 200, description = "The reply: `{performative: tell|sorry|error, sender, receiver, content, in-reply-to}`", body = Value),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn kqml(
    State(actions): State<AgentActions>,
    AuthUser(caller): AuthUser,
    JsonBody(message): JsonBody<Value>,
) -> Json<Value> {
    Json(answer(&actions, &caller, &message).await)
}

/// The performatives this agent answers.
pub const PERFORMATIVES: [&str; 5] = ["ask", "ask-one", "ask-all", "ask-if", "achieve"];

/// Answers one KQML message.
pub async fn answer(actions: &AgentActions, caller: &Principal, message: &Value) -> Value {
    let reply = |performative: &str, content: Value| {
        json!({
            "performative": performative,
            "sender": AGENT_NAME,
            "receiver": message.get("sender").cloned().unwrap_or(Value::Null),
            "content": content,
            "language": "json",
            "ontology": "gpuproxy",
            "in-reply-to": message.get("reply-with").cloned().unwrap_or(Value::Null),
        })
    };
    let performative = message
        .get("performative")
        .and_then(Value::as_str)
        .map(|text| text.trim().to_ascii_lowercase());
    let key = match performative.as_deref() {
        Some("ask" | "ask-one" | "ask-all" | "ask-if") => "query",
        Some("achieve") => "action",
        Some(other) => {
            return reply(
                "error",
                json!({"comment": format!("this agent answers ask, ask-one, ask-all, ask-if and achieve, not {other}")}),
            );
        }
        None => return reply("error", json!({"comment": "a KQML message needs a performative"})),
    };
    let Some((name, arguments)) = action_and_arguments(&message["content"], key) else {
        return reply(
            "error",
            json!({"comment": format!("the content needs a \"{key}\" naming what to do")}),
        );
    };
    match run(actions, caller, &name, arguments).await {
        Ok(Outcome::Done(result)) => reply("tell", json!({key: name, "result": result})),
        Ok(Outcome::Failed { code, message }) => reply(
            "sorry",
            json!({key: name, "comment": error_object(code, &message)}),
        ),
        Err(refused) => reply("sorry", json!({key: name, "comment": refused_object(&refused)})),
    }
}
