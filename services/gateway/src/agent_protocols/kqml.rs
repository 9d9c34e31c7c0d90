//! `POST /api/v1/kqml`: KQML messages, in JSON or in their native syntax. `ask`, `ask-one`, `ask-all` and `ask-if` with
//! `content.query`, and `achieve` with `content.action`, run the action they name (by alias or by
//! name); the reply is `tell` with the result, `sorry` when it could not be done (with why), and
//! `error` for a message this agent cannot read. `reply-with` comes back as `in-reply-to`.

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Value, json};

use crate::agent_actions::{AgentActions, Outcome};
use crate::agent_protocols::sexpr::Dialect;
use crate::agent_protocols::{
    AGENT_NAME, Caller, Message, action_and_arguments, error_object, refused_object, run,
};
use crate::error::ErrorBody;

/// Answers a KQML message in its own terms and syntax: JSON, or the native
/// `(ask-one :sender my-agent :content (gpu-instances) :reply-with q1)`, answered as an
/// s-expression whose `:content` is JSON (`:language json`).
#[utoipa::path(post, path = "/api/v1/kqml", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = Value, description = "`{\"performative\": \"ask\", \"sender\": \"my-agent\", \"content\": {\"query\": \"gpu-instances\"}}`, or the same as an s-expression"),
    responses(
        (status = 200, description = "The reply: `{performative: tell|sorry|error, sender, receiver, content, in-reply-to}`, or an s-expression (text/plain) for one", content((Value = "application/json"), (String = "text/plain"))),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn kqml(
    State(actions): State<AgentActions>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    Message::read(&headers, &body, Dialect::Kqml)
        .answer(Dialect::Kqml, unreadable, |message| async move {
            answer(&actions, &caller, &message).await
        })
        .await
}

/// The reply to a message that could not be read.
pub fn unreadable(reason: &str) -> Value {
    json!({
        "performative": "error",
        "sender": AGENT_NAME,
        "receiver": null,
        "content": {"comment": format!("the message could not be read: {reason}")},
        "language": "json",
        "ontology": "gpuproxy",
        "in-reply-to": null,
    })
}

/// The performatives this agent answers.
pub const PERFORMATIVES: [&str; 5] = ["ask", "ask-one", "ask-all", "ask-if", "achieve"];

/// Answers one KQML message.
pub async fn answer(actions: &AgentActions, caller: &Caller, message: &Value) -> Value {
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
