//! `POST /api/v1/fipa`: FIPA ACL messages, in JSON or in their native syntax. `query-ref`/`query-if` with `content.query` and
//! `request` with `content.action` run the action they name (by alias, e.g. `gpu-instances`, or by
//! name); the reply is `inform` with the result, `refuse` when a limit or a right says no,
//! `failure` when the action failed, and `not-understood` for a message this agent cannot read.
//! `conversation-id` is kept and `reply-with` comes back as `in-reply-to`. `cfp`,
//! `accept-proposal` and `reject-proposal` are the contract net for renting ([`contract_net`]).

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::HeaderMap;
use serde_json::{Value, json};

use crate::agent_actions::{AgentActions, Outcome, Refused};
use crate::agent_protocols::contract_net;
use crate::agent_protocols::sexpr::Dialect;
use crate::agent_protocols::{
    AGENT_NAME, Caller, Message, action_and_arguments, error_object, is_refusal, refused_object, run,
};
use crate::error::ErrorBody;

/// Answers a FIPA ACL message in its own terms and syntax: JSON, or the native
/// `(query-ref :sender (agent-identifier :name my-agent) :content (gpu-instances) :reply-with q1)`,
/// answered as an s-expression whose `:content` is JSON (`:language json`).
#[utoipa::path(post, path = "/api/v1/fipa", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = Value, description = "`{\"performative\": \"query-ref\", \"sender\": {\"name\": \"my-agent\"}, \"receiver\": [{\"name\": \"aiserve-gpuproxy\"}], \"content\": {\"query\": \"gpu-instances\"}}`, or the same as an s-expression"),
    responses(
        (status = 200, description = "The reply: `{performative: inform|refuse|failure|not-understood, sender, receiver, content, conversation-id, in-reply-to}`, or an s-expression (text/plain) for one", content((Value = "application/json"), (String = "text/plain"))),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn fipa(
    State(actions): State<AgentActions>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    Message::read(&headers, &body, Dialect::Fipa)
        .answer(Dialect::Fipa, unreadable, |message| async move {
            answer(&actions, &caller, &message).await
        })
        .await
}

/// The reply to a message that could not be read.
pub fn unreadable(reason: &str) -> Value {
    json!({
        "performative": "not-understood",
        "sender": {"name": AGENT_NAME},
        "receiver": [],
        "content": {"reason": format!("the message could not be read: {reason}")},
        "language": "json",
        "ontology": "gpuproxy",
        "conversation-id": null,
        "in-reply-to": null,
    })
}

/// The performatives whose first word tells a FIPA message from a KQML one.
pub const PERFORMATIVES: [&str; 9] = [
    "query-ref",
    "query-if",
    "request",
    "cfp",
    "propose",
    "accept-proposal",
    "reject-proposal",
    "inform",
    "subscribe",
];

/// Answers one FIPA ACL message.
pub async fn answer(actions: &AgentActions, caller: &Caller, message: &Value) -> Value {
    let reply = |performative: &str, content: Value| {
        json!({
            "performative": performative,
            "sender": {"name": AGENT_NAME},
            "receiver": [message.get("sender").cloned().unwrap_or(Value::Null)],
            "content": content,
            "language": "json",
            "ontology": "gpuproxy",
            "conversation-id": message.get("conversation-id").cloned().unwrap_or(Value::Null),
            "in-reply-to": message.get("reply-with").cloned().unwrap_or(Value::Null),
        })
    };
    let performative = message
        .get("performative")
        .and_then(Value::as_str)
        .map(|text| text.trim().to_ascii_lowercase());
    let contract_net = match performative.as_deref() {
        Some("cfp") => Some(contract_net::call_for_proposals(actions, caller, &message["content"]).await),
        Some("accept-proposal") => Some(contract_net::accept(actions, caller, &message["content"]).await),
        Some("reject-proposal") => Some(contract_net::reject(&message["content"])),
        _ => None,
    };
    if let Some((performative, content)) = contract_net {
        return reply(performative, content);
    }
    let key = match performative.as_deref() {
        Some("query-ref" | "query-if") => "query",
        Some("request") => "action",
        Some(other) => {
            return reply(
                "not-understood",
                json!({"reason": format!("this agent answers query-ref, query-if, request, cfp, accept-proposal and reject-proposal, not {other}")}),
            );
        }
        None => {
            return reply(
                "not-understood",
                json!({"reason": "a FIPA ACL message needs a performative"}),
            );
        }
    };
    let Some((name, arguments)) = action_and_arguments(&message["content"], key) else {
        return reply(
            "not-understood",
            json!({"reason": format!("the content needs a \"{key}\" naming what to do")}),
        );
    };
    match run(actions, caller, &name, arguments).await {
        Ok(Outcome::Done(result)) => reply("inform", json!({key: name, "result": result})),
        Ok(Outcome::Failed { code, message }) => {
            let performative = if is_refusal(code) { "refuse" } else { "failure" };
            reply(
                performative,
                json!({key: name, "reason": error_object(code, &message)}),
            )
        }
        Err(refused @ (Refused::UnknownAction(_) | Refused::InvalidArguments(_))) => reply(
            "not-understood",
            json!({key: name, "reason": refused_object(&refused)}),
        ),
    }
}
