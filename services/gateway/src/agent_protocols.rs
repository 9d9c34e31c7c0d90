//! The agent protocols of seed 003 over the one action catalog: A2A 1.0 (JSON-RPC, tasks, the
//! agent card) and the seed's simple A2A body, LangChain's tools, ACP, FIPA ACL and KQML messages,
//! the unified endpoint that tells them apart, and agent discovery. Each file turns its protocol's envelope into an action (by name or by one of
//! its aliases, e.g. `gpu.list` or `gpu-instances`) and the outcome back into the protocol's own
//! terms; [`AgentActions`] runs it. A message that is JSON is always answered in its protocol,
//! failures included (FIPA `failure`/`refuse`/`not-understood`, KQML `sorry`/`error`, …), so the
//! HTTP status is 200 unless the body is not JSON at all or the caller is not authenticated.

mod a2a;
mod a2a_simple;
mod acp;
mod contract_net;
mod detect;
mod discover;
mod fipa;
mod kqml;
mod langchain;
mod sexpr;
mod typed_arguments;

use std::sync::Arc;

use axum::Json;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use http::HeaderMap;
use http::request::Parts;
use serde_json::{Map, Value};
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::agent_actions::{AgentActions, Outcome, Refused};
use crate::operations::idempotency_key;
use crate::rest::principal::AuthUser;
use crate::{AppState, Error};

/// What this agent calls itself in its replies.
pub const AGENT_NAME: &str = "aiserve-gpuproxy";

/// The routes that need a caller.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(a2a::a2a))
        .routes(routes!(acp::acp))
        .routes(routes!(fipa::fipa))
        .routes(routes!(kqml::kqml))
        .routes(routes!(langchain::tools))
        .routes(routes!(langchain::execute))
        .routes(routes!(detect::agent))
}

/// `GET /agent/discover` and the A2A agent card, open to anyone.
pub fn discovery_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(discover::discover))
        .routes(routes!(a2a::card::agent_card))
}

/// Who sent a message: the authenticated user, and the request's `Idempotency-Key`, so that a
/// retried message that rents rents once.
pub struct Caller {
    principal: Arc<Principal>,
    idempotency_key: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let AuthUser(principal) = AuthUser::of(&parts.extensions)?;
        Ok(Caller {
            principal,
            idempotency_key: idempotency_key(&parts.headers)?,
        })
    }
}

/// Runs the action `name` (or alias) with `arguments` as `caller`. Nobody listens to progress
/// here: each of these protocols answers once.
async fn run(
    actions: &AgentActions,
    caller: &Caller,
    name: &str,
    arguments: Value,
) -> Result<Outcome, Refused> {
    let arguments = typed_arguments(actions, name, arguments).await;
    let (progress, _) = mpsc::channel(1);
    actions
        .call(
            &caller.principal,
            name,
            arguments,
            caller.idempotency_key.clone(),
            &progress,
        )
        .await
}

/// Gives arguments the types the action's input schema asks for (`typed_arguments.rs`).
async fn typed_arguments(actions: &AgentActions, name: &str, mut arguments: Value) -> Value {
    let Ok(catalog) = actions.catalog().await else {
        return arguments;
    };
    if let Some(schema) = crate::agent_actions::find(&catalog, name)
        .and_then(|action| serde_json::from_str::<Value>(&action.input_schema).ok())
    {
        typed_arguments::coerce(&mut arguments, &schema, &schema);
    }
    arguments
}

/// Whether a failure is the caller's limit or right saying no (FIPA `refuse`), rather than the
/// action failing (FIPA `failure`).
fn is_refusal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::SpendingLimitExceeded | ErrorCode::CreditsExhausted | ErrorCode::Forbidden
    )
}

/// The `{"code", "message"}` object every protocol carries a failure in.
fn error_object(code: ErrorCode, message: &str) -> Value {
    serde_json::json!({"code": code.as_str(), "message": message})
}

/// The error of a call that named no action or whose arguments its schema refuses.
fn refused_object(refused: &Refused) -> Value {
    let code = match refused {
        Refused::UnknownAction(_) => ErrorCode::UnknownAction,
        Refused::InvalidArguments(_) => ErrorCode::ValidationFailed,
    };
    error_object(code, &refused.to_string())
}

/// Splits a FIPA or KQML `content` object into the action it names (under `key`) and its
/// arguments: a `parameters` object when there is one, else every other field.
fn action_and_arguments(content: &Value, key: &str) -> Option<(String, Value)> {
    let object = content.as_object()?;
    let name = object.get(key)?.as_str()?.trim().to_owned();
    let arguments = match object.get("parameters") {
        Some(Value::Object(parameters)) => Value::Object(parameters.clone()),
        _ => Value::Object(
            object
                .iter()
                .filter(|(field, _)| field.as_str() != key)
                .map(|(field, value)| (field.clone(), value.clone()))
                .collect::<Map<String, Value>>(),
        ),
    };
    Some((name, arguments))
}

/// A FIPA or KQML message as it came: JSON, the native syntax, or neither.
enum Message {
    /// `{"performative": …}`.
    Json(Value),
    /// `(performative :key value …)`, read into the JSON form.
    Native(Value),
    /// Why it could not be read.
    Unreadable(String),
}

impl Message {
    fn read(headers: &HeaderMap, body: &Bytes, dialect: sexpr::Dialect) -> Self {
        if sexpr::is_sexpr(body) {
            let read = std::str::from_utf8(body)
                .map_err(|_| "the message is not UTF-8".to_owned())
                .and_then(sexpr::parse)
                .and_then(|expression| sexpr::message(&expression, dialect));
            return match read {
                Ok(message) => Message::Native(message),
                Err(reason) => Message::Unreadable(reason),
            };
        }
        match crate::rest::json_body::parse::<Value>(headers, body) {
            Ok(message) => Message::Json(message),
            Err(error) => Message::Unreadable(error.to_string()),
        }
    }

    /// Answers with `answer`'s reply, in the syntax the message came in (JSON for one that could
    /// not be read); `unreadable` makes the reply to a message that could not be read.
    async fn answer<F>(
        self,
        dialect: sexpr::Dialect,
        unreadable: fn(&str) -> Value,
        answer: impl FnOnce(Value) -> F,
    ) -> Response
    where
        F: std::future::Future<Output = Value>,
    {
        match self {
            Message::Json(message) => Json(answer(message).await).into_response(),
            Message::Native(message) => {
                let reply = sexpr::reply(&answer(message).await, dialect);
                ([(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], reply).into_response()
            }
            Message::Unreadable(reason) => Json(unreadable(&reason)).into_response(),
        }
    }
}

/// Arguments that may be absent: `null` and absent read as none.
fn arguments_of(value: Option<&Value>) -> Value {
    match value {
        Some(Value::Object(arguments)) => Value::Object(arguments.clone()),
        _ => Value::Null,
    }
}
