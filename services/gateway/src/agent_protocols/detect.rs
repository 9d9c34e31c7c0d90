//! `POST /api/v1/agent`: one endpoint for every protocol, told apart by the message's shape and
//! answered in the protocol it was asked in (named in `X-Agent-Protocol`).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use gpuproxy_errors::ErrorCode;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::Error;
use crate::agent_actions::AgentActions;
use crate::agent_protocols::sexpr::{self, Dialect, Sexpr};
use crate::agent_protocols::{Caller, Message, a2a, a2a_simple, acp, fipa, kqml, langchain};
use crate::error::ErrorBody;

/// The protocols this endpoint tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// `{"action", "from_agent", "parameters"}`.
    A2a,
    /// `{"header", "payload"}`.
    Acp,
    /// A FIPA performative (`query-ref`, `request`, …).
    Fipa,
    /// A KQML performative (`ask`, `ask-one`, `achieve`, …).
    Kqml,
    /// `{"input": {"tool", …}}`.
    LangChain,
}

impl Protocol {
    /// Its name, as `X-Agent-Protocol` and `/agent/discover` give it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::A2a => "a2a",
            Protocol::Acp => "acp",
            Protocol::Fipa => "fipa",
            Protocol::Kqml => "kqml",
            Protocol::LangChain => "langchain",
        }
    }

    /// Tells the protocol of `message` from its shape.
    pub fn of(message: &Value) -> Option<Self> {
        let object = message.as_object()?;
        if let Some(performative) = object.get("performative").and_then(Value::as_str) {
            let performative = performative.trim().to_ascii_lowercase();
            if fipa::PERFORMATIVES.contains(&performative.as_str()) {
                return Some(Protocol::Fipa);
            }
            if kqml::PERFORMATIVES.contains(&performative.as_str()) {
                return Some(Protocol::Kqml);
            }
            // An unknown performative: FIPA's sender is an object, KQML's a name.
            return Some(if object.get("sender").is_some_and(Value::is_object) {
                Protocol::Fipa
            } else {
                Protocol::Kqml
            });
        }
        if object.contains_key("header") && object.contains_key("payload") {
            return Some(Protocol::Acp);
        }
        if object
            .get("input")
            .is_some_and(|input| input.get("tool").is_some())
        {
            return Some(Protocol::LangChain);
        }
        if object.contains_key("action") || object.contains_key("jsonrpc") {
            return Some(Protocol::A2a);
        }
        None
    }
}

/// Answers a message of any of the protocols in its own terms.
#[utoipa::path(post, path = "/api/v1/agent", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = Value, description = "A message of A2A (JSON-RPC or the simple body), ACP, FIPA ACL, KQML or LangChain; FIPA ACL and KQML also as s-expressions"),
    responses(
        (status = 200, description = "The reply in the message's protocol (an s-expression, text/plain, for a FIPA or KQML one), named in `X-Agent-Protocol`",
            content((Value = "application/json"), (String = "text/plain")),
            headers(("X-Agent-Protocol" = String, description = "a2a, acp, fipa, kqml or langchain"))),
        (status = 400, description = "A message of no protocol this agent speaks (MALFORMED_REQUEST), or a LangChain message naming an unknown tool (UNKNOWN_ACTION) or with a bad tool_input (VALIDATION_FAILED)", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn agent(
    State(actions): State<AgentActions>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    if sexpr::is_sexpr(&body) {
        let dialect = native_dialect(&body)?;
        let message = Message::read(&headers, &body, dialect);
        let (protocol, mut response) = match dialect {
            Dialect::Fipa => (
                Protocol::Fipa,
                message
                    .answer(dialect, fipa::unreadable, |message| async move {
                        fipa::answer(&actions, &caller, &message).await
                    })
                    .await,
            ),
            Dialect::Kqml => (
                Protocol::Kqml,
                message
                    .answer(dialect, kqml::unreadable, |message| async move {
                        kqml::answer(&actions, &caller, &message).await
                    })
                    .await,
            ),
        };
        response
            .headers_mut()
            .insert("x-agent-protocol", HeaderValue::from_static(protocol.name()));
        return Ok(response);
    }
    let message: Value = crate::rest::json_body::parse(&headers, &body)?;
    let protocol = Protocol::of(&message).ok_or_else(|| {
        Error::new(
            ErrorCode::MalformedRequest,
            "the message is of no protocol this agent speaks: send A2A ({\"action\"}), ACP ({\"header\", \"payload\"}), FIPA ACL or KQML ({\"performative\"}) or LangChain ({\"input\": {\"tool\"}})",
        )
    })?;
    if protocol == Protocol::A2a && a2a::jsonrpc::is_jsonrpc(&message) {
        let mut response = a2a::jsonrpc::handle(&actions, &caller, &headers, message).await;
        response
            .headers_mut()
            .insert("x-agent-protocol", HeaderValue::from_static(protocol.name()));
        return Ok(response);
    }
    let reply = match protocol {
        Protocol::A2a => a2a_simple::answer(&actions, &caller, &message).await,
        Protocol::Acp => acp::answer(&actions, &caller, &message).await,
        Protocol::Fipa => fipa::answer(&actions, &caller, &message).await,
        Protocol::Kqml => kqml::answer(&actions, &caller, &message).await,
        Protocol::LangChain => langchain::answer(&actions, &caller, &message).await?,
    };
    let mut response = Json(reply).into_response();
    response
        .headers_mut()
        .insert("x-agent-protocol", HeaderValue::from_static(protocol.name()));
    Ok(response)
}

/// Tells FIPA from KQML in the native syntax: by the performative, else by FIPA's
/// `agent-identifier`s.
fn native_dialect(body: &[u8]) -> Result<Dialect, Error> {
    let expression = std::str::from_utf8(body)
        .map_err(|_| "the message is not UTF-8".to_owned())
        .and_then(sexpr::parse)
        .map_err(|reason| {
            Error::new(
                ErrorCode::MalformedRequest,
                format!("the s-expression does not parse: {reason}"),
            )
        })?;
    let performative = match &expression {
        Sexpr::List(items) => match items.first() {
            Some(Sexpr::Atom(performative)) => performative.to_ascii_lowercase(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    Ok(if fipa::PERFORMATIVES.contains(&performative.as_str()) {
        Dialect::Fipa
    } else if kqml::PERFORMATIVES.contains(&performative.as_str()) {
        Dialect::Kqml
    } else if String::from_utf8_lossy(body).contains("agent-identifier") {
        Dialect::Fipa
    } else {
        Dialect::Kqml
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_seed_sample_is_told_apart() {
        let samples = [
            (
                json!({"action": "gpu.list", "from_agent": "my-agent", "parameters": {"provider": "vast.ai"}}),
                Protocol::A2a,
            ),
            (
                json!({"header": {"sender": "my-agent", "message_type": "command"}, "payload": {"command": "gpu.list"}}),
                Protocol::Acp,
            ),
            (
                json!({"performative": "query-ref", "sender": {"name": "my-agent"}, "content": {"query": "gpu-instances"}}),
                Protocol::Fipa,
            ),
            (
                json!({"performative": "ask", "sender": "my-agent", "content": {"query": "gpu-instances"}}),
                Protocol::Kqml,
            ),
            (
                json!({"input": {"action": "execute", "tool": "list_gpu_instances", "tool_input": {}}}),
                Protocol::LangChain,
            ),
            (
                json!({"performative": "shrug", "sender": {"name": "a"}}),
                Protocol::Fipa,
            ),
            (json!({"performative": "shrug", "sender": "a"}), Protocol::Kqml),
        ];
        for (message, protocol) in samples {
            assert_eq!(Protocol::of(&message), Some(protocol), "{message}");
        }
        assert_eq!(Protocol::of(&json!({"hello": "world"})), None);
        let native = |text: &str| native_dialect(text.as_bytes()).expect("parses");
        assert_eq!(
            native("(ask-one :sender a :content (gpu-instances))"),
            Dialect::Kqml
        );
        assert_eq!(
            native("(query-ref :sender (agent-identifier :name a) :content (gpu-instances))"),
            Dialect::Fipa
        );
        assert_eq!(
            native("(shrug :sender (agent-identifier :name a))"),
            Dialect::Fipa
        );
        assert!(native_dialect(b"(ask-one").is_err());
        assert_eq!(Protocol::of(&json!([1, 2])), None);
    }
}
