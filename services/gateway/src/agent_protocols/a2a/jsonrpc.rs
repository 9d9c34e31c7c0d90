//! A2A's JSON-RPC binding: the 1.0 methods (`SendMessage`, `SendStreamingMessage`, `GetTask`,
//! `ListTasks`, `CancelTask`, `SubscribeToTask`) and their 0.3 names (`message/send`,
//! `message/stream`, `tasks/get`, `tasks/list`, `tasks/cancel`, `tasks/resubscribe`), each
//! answered in the dialect it was asked in. A message names an action (`intent.rs`); the action
//! runs as a durable task of the agents service, answered when it ends (`SendMessage`), at once
//! (`returnImmediately`, or 0.3's `blocking: false`), or streamed as Server-Sent Events until it
//! ends. Errors are JSON-RPC errors with A2A's codes, over HTTP 200.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::agents::v1 as pb;
use http::HeaderMap;
use serde_json::{Value, json};

use super::intent::{Intent, intent};
use super::wire::{self, Dialect};
use crate::Error;
use crate::agent_actions::{AgentActions, NewTask, Outcome, Refused, TaskRefused, find};
use crate::agent_protocols::{Caller, error_object, run, typed_arguments};

/// The request header naming the protocol version a client speaks.
const VERSION_HEADER: &str = "a2a-version";
/// How often an idle stream sends a comment, so that clients' read timeouts (5 s in httpx's
/// default) do not cut a task that is slow to change.
const KEEP_ALIVE: Duration = Duration::from_secs(2);

/// A JSON-RPC error with A2A's codes.
#[derive(Debug)]
struct RpcError {
    code: i64,
    message: String,
    data: Option<Value>,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn invalid_params(message: impl Into<String>) -> Self {
        RpcError::new(-32602, message)
    }

    /// The agents service's (or the gateway's) error, by its code.
    fn of(error: &Error) -> Self {
        let code = match error.code() {
            ErrorCode::NotFound => -32001,
            ErrorCode::TaskEnded => -32002,
            ErrorCode::ValidationFailed | ErrorCode::UnknownAction => -32602,
            _ => -32603,
        };
        RpcError {
            code,
            message: error.to_string(),
            data: Some(json!({ "code": error.code().as_str() })),
        }
    }
}

impl From<Error> for RpcError {
    fn from(error: Error) -> Self {
        RpcError::of(&error)
    }
}

#[derive(Debug, Clone, Copy)]
enum Method {
    Send,
    Stream,
    Get,
    List,
    Cancel,
    Subscribe,
    PushConfig,
    ExtendedCard,
}

fn method(name: &str) -> Option<(Method, Dialect)> {
    use Dialect::{V1, V03};
    Some(match name {
        "SendMessage" => (Method::Send, V1),
        "SendStreamingMessage" => (Method::Stream, V1),
        "GetTask" => (Method::Get, V1),
        "ListTasks" => (Method::List, V1),
        "CancelTask" => (Method::Cancel, V1),
        "SubscribeToTask" => (Method::Subscribe, V1),
        "CreateTaskPushNotificationConfig"
        | "GetTaskPushNotificationConfig"
        | "ListTaskPushNotificationConfigs"
        | "DeleteTaskPushNotificationConfig" => (Method::PushConfig, V1),
        "GetExtendedAgentCard" => (Method::ExtendedCard, V1),
        "message/send" => (Method::Send, V03),
        "message/stream" => (Method::Stream, V03),
        "tasks/get" => (Method::Get, V03),
        "tasks/list" => (Method::List, V03),
        "tasks/cancel" => (Method::Cancel, V03),
        "tasks/resubscribe" => (Method::Subscribe, V03),
        "tasks/pushNotificationConfig/set"
        | "tasks/pushNotificationConfig/get"
        | "tasks/pushNotificationConfig/list"
        | "tasks/pushNotificationConfig/delete" => (Method::PushConfig, V03),
        "agent/getAuthenticatedExtendedCard" => (Method::ExtendedCard, V03),
        _ => return None,
    })
}

/// Whether `body` is a JSON-RPC request (and so A2A's binding, not the seed's simple body).
pub fn is_jsonrpc(body: &Value) -> bool {
    body.get("jsonrpc").is_some() || body.is_array()
}

/// Answers one JSON-RPC request.
pub async fn handle(actions: &AgentActions, caller: &Caller, headers: &HeaderMap, body: Value) -> Response {
    let id = body.get("id").cloned().unwrap_or(Value::Null);
    match dispatch(actions, caller, headers, &body).await {
        Ok(Answer::Result(result)) => {
            Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })).into_response()
        }
        Ok(Answer::Stream(events)) => {
            let frames = events.map(move |result| {
                let frame = json!({ "jsonrpc": "2.0", "id": id, "result": result });
                Ok::<_, Infallible>(Event::default().data(frame.to_string()))
            });
            Sse::new(frames)
                .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
                .into_response()
        }
        Err(error) => Json(error_response(&id, error)).into_response(),
    }
}

fn error_response(id: &Value, error: RpcError) -> Value {
    let mut object = json!({ "code": error.code, "message": error.message });
    if let Some(data) = error.data {
        object["data"] = data;
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": object })
}

/// A result at once, or a stream of results.
enum Answer {
    Result(Value),
    Stream(std::pin::Pin<Box<dyn Stream<Item = Value> + Send>>),
}

async fn dispatch(
    actions: &AgentActions,
    caller: &Caller,
    headers: &HeaderMap,
    body: &Value,
) -> Result<Answer, RpcError> {
    if body.is_array() {
        return Err(RpcError::new(
            -32600,
            "batch requests are not supported; send one request per call",
        ));
    }
    if body.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(RpcError::new(-32600, "jsonrpc must be \"2.0\""));
    }
    let Some(name) = body.get("method").and_then(Value::as_str) else {
        return Err(RpcError::new(-32600, "method must be a string"));
    };
    check_version(headers)?;
    let Some((method, dialect)) = method(name) else {
        return Err(RpcError::new(-32601, format!("method {name:?} not found")));
    };
    let params = match body.get("params") {
        None | Some(Value::Null) => json!({}),
        Some(params @ Value::Object(_)) => params.clone(),
        Some(_) => return Err(RpcError::invalid_params("params must be an object")),
    };
    let principal = &caller.principal;
    match method {
        Method::Send | Method::Stream => {
            send(
                actions,
                caller,
                dialect,
                &params,
                matches!(method, Method::Stream),
            )
            .await
        }
        Method::Get => {
            let task = actions.get_task(principal, task_id(&params)?).await?;
            Ok(Answer::Result(dialect.task(&task, history_length(&params))))
        }
        Method::List => list(actions, caller, dialect, &params).await,
        Method::Cancel => {
            let task = actions.cancel_task(principal, task_id(&params)?).await?;
            Ok(Answer::Result(dialect.task(&task, history_length(&params))))
        }
        Method::Subscribe => {
            let task = actions.get_task(principal, task_id(&params)?).await?;
            if wire::is_final(&task.state) {
                return Err(RpcError::new(
                    -32004,
                    format!("task {} has ended ({}): get it with GetTask", task.id, task.state),
                ));
            }
            follow(actions, caller, dialect, task, None).await
        }
        Method::PushConfig => Err(RpcError::new(
            -32003,
            "push notifications are not supported: follow a task with SendStreamingMessage or SubscribeToTask, or subscribe a webhook to agent.task.* events",
        )),
        Method::ExtendedCard => Err(RpcError::new(-32007, "this agent has no extended agent card")),
    }
}

/// Refuses a protocol version this agent does not speak (`A2A-Version`: 1.x or 0.3; absent means 0.3).
fn check_version(headers: &HeaderMap) -> Result<(), RpcError> {
    let Some(version) = headers.get(VERSION_HEADER) else {
        return Ok(());
    };
    let version = version.to_str().unwrap_or_default().trim();
    let mut numbers = version.split('.');
    let supported = matches!(
        (numbers.next(), numbers.next()),
        (Some("1"), _) | (Some("0"), Some("3"))
    );
    if supported {
        Ok(())
    } else {
        Err(RpcError {
            code: -32009,
            message: format!("A2A version {version:?} is not supported; this agent speaks 1.0 and 0.3"),
            data: Some(json!({ "supportedVersions": ["1.0", "0.3"] })),
        })
    }
}

fn task_id(params: &Value) -> Result<&str, RpcError> {
    params
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| RpcError::invalid_params("params.id must name a task"))
}

fn history_length(params: &Value) -> Option<usize> {
    let length = params
        .get("historyLength")
        .or_else(|| params.pointer("/configuration/historyLength"))?;
    length
        .as_u64()
        .or_else(|| length.as_str().and_then(|text| text.parse().ok()))
        .and_then(|length| usize::try_from(length).ok())
}

/// `SendMessage` / `SendStreamingMessage`: the message's action, run as a task (or, for the one
/// action the gateway runs, answered as a message).
async fn send(
    actions: &AgentActions,
    caller: &Caller,
    dialect: Dialect,
    params: &Value,
    streaming: bool,
) -> Result<Answer, RpcError> {
    let message = params
        .get("message")
        .filter(|message| message.is_object())
        .ok_or_else(|| RpcError::invalid_params("params.message must be a message object"))?;
    if let Some(task_id) = message
        .get("taskId")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
    {
        actions.get_task(&caller.principal, task_id).await?;
        return Err(RpcError::new(
            -32004,
            "this agent's tasks take no further input: send a new message without taskId",
        ));
    }
    let catalog = actions.catalog().await?;
    let context_id = message
        .get("contextId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(Intent { action, arguments }) = intent(message, &catalog) else {
        return Ok(Answer::Result(
            dialect.message_result(help(dialect, &catalog, context_id)),
        ));
    };
    let Some(spec) = find(&catalog, &action) else {
        return Err(RpcError {
            code: -32602,
            message: format!("there is no skill {action:?}; the agent card lists the skills"),
            data: Some(json!({ "code": ErrorCode::UnknownAction.as_str() })),
        });
    };
    if spec.runs_in_gateway {
        let reply = run_here(actions, caller, dialect, &action, arguments, context_id).await?;
        return Ok(Answer::Result(dialect.message_result(reply)));
    }
    let arguments = typed_arguments(actions, &action, arguments).await;
    let idempotency_key = if caller.idempotency_key.is_empty() {
        message
            .get("messageId")
            .and_then(Value::as_str)
            .filter(|id| !id.trim().is_empty())
            .map(|id| format!("a2a:{id}"))
            .unwrap_or_default()
    } else {
        caller.idempotency_key.clone()
    };
    let started = actions
        .start_task(
            &caller.principal,
            NewTask {
                name: action,
                arguments,
                idempotency_key,
                context_id: context_id.to_owned(),
                request: wire::stored_message(message),
            },
        )
        .await;
    let task = match started {
        Ok(task) => task,
        Err(TaskRefused::Call(refused)) => {
            let code = match refused {
                Refused::UnknownAction(_) => ErrorCode::UnknownAction,
                Refused::InvalidArguments(_) => ErrorCode::ValidationFailed,
            };
            return Err(RpcError {
                code: -32602,
                message: refused.to_string(),
                data: Some(json!({ "code": code.as_str() })),
            });
        }
        Err(TaskRefused::Service(error)) => return Err(error.into()),
    };
    let history = history_length(params);
    if streaming {
        return follow(actions, caller, dialect, task, history).await;
    }
    let at_once = match dialect {
        Dialect::V1 => params.pointer("/configuration/returnImmediately") == Some(&Value::Bool(true)),
        Dialect::V03 => params.pointer("/configuration/blocking") == Some(&Value::Bool(false)),
    };
    let task = if at_once || wire::is_final(&task.state) {
        task
    } else {
        let mut changes = Box::pin(actions.watch_task(&caller.principal, &task.id).await?);
        let mut last = task;
        while let Some(change) = changes.next().await {
            last = change;
        }
        last
    };
    Ok(Answer::Result(dialect.task_result(dialect.task(&task, history))))
}

/// Streams `task`: the task first, then each change (its result as an artifact before the final
/// status), ending with the change that ends it.
async fn follow(
    actions: &AgentActions,
    caller: &Caller,
    dialect: Dialect,
    task: pb::Task,
    history: Option<usize>,
) -> Result<Answer, RpcError> {
    let changes = actions.watch_task(&caller.principal, &task.id).await?;
    let first = dialect.task_result(dialect.task(&task, history));
    // A watcher may repeat what was already sent (the task as first read, a re-read after a
    // broken stream): each change goes out once.
    let mut sent = (task.updated_at_ms, task.state.clone());
    let updates = changes
        .filter(move |change| {
            let key = (change.updated_at_ms, change.state.clone());
            let new = key != sent;
            sent = key;
            futures::future::ready(new)
        })
        .flat_map(move |change| {
            let mut events = Vec::with_capacity(2);
            if let Some(artifact) = dialect.artifact_update(&change) {
                events.push(artifact);
            }
            events.push(dialect.status_update(&change));
            futures::stream::iter(events)
        });
    Ok(Answer::Stream(Box::pin(
        futures::stream::once(async move { first }).chain(updates),
    )))
}

/// Runs an action the gateway runs (proxying) and answers its outcome as a message.
async fn run_here(
    actions: &AgentActions,
    caller: &Caller,
    dialect: Dialect,
    action: &str,
    arguments: Value,
    context_id: &str,
) -> Result<Value, RpcError> {
    let message_id = uuid::Uuid::now_v7().to_string();
    let parts = match run(actions, caller, action, arguments).await {
        Ok(Outcome::Done(result)) => vec![dialect.data_part(result)],
        Ok(Outcome::Failed { code, message }) => vec![
            dialect.text_part(&format!("{code}: {message}")),
            dialect.data_part(json!({ "error": error_object(code, &message) })),
        ],
        Err(refused) => return Err(RpcError::invalid_params(refused.to_string())),
    };
    Ok(dialect.agent_message(&message_id, None, context_id, parts))
}

/// The answer to a message that names no skill: how to name one, and the skills.
fn help(dialect: Dialect, catalog: &[pb::Action], context_id: &str) -> Value {
    let skills: Vec<&str> = catalog.iter().map(|action| action.name.as_str()).collect();
    let text = format!(
        "Name a skill: send a data part {{\"action\": \"<skill>\", \"arguments\": {{…}}}}, or a text part starting with the skill, e.g. \"list_gpu_instances {{\\\"gpu_model\\\": \\\"4090\\\"}}\". Skills: {}.",
        skills.join(", ")
    );
    dialect.agent_message(
        &uuid::Uuid::now_v7().to_string(),
        None,
        context_id,
        vec![
            dialect.text_part(&text),
            dialect.data_part(json!({ "skills": skills })),
        ],
    )
}

/// `ListTasks`: the caller's tasks, newest first.
async fn list(
    actions: &AgentActions,
    caller: &Caller,
    dialect: Dialect,
    params: &Value,
) -> Result<Answer, RpcError> {
    let status = params.get("status").and_then(Value::as_str).unwrap_or_default();
    let state = if status.is_empty() || status == "TASK_STATE_UNSPECIFIED" {
        ""
    } else {
        match wire::parse_state(status) {
            Some(state) => state,
            // A state no task of this agent is ever in.
            None => {
                return Ok(Answer::Result(
                    json!({ "tasks": [], "nextPageToken": "", "pageSize": 0, "totalSize": 0 }),
                ));
            }
        }
    };
    let page_size = match params.get("pageSize") {
        None | Some(Value::Null) => 0,
        Some(size) => size
            .as_i64()
            .and_then(|size| i32::try_from(size).ok())
            .ok_or_else(|| RpcError::invalid_params("pageSize must be an integer from 1 to 100"))?,
    };
    let listed = actions
        .list_tasks(
            &caller.principal,
            pb::ListTasksRequest {
                user_id: String::new(),
                context_id: params
                    .get("contextId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                state: state.to_owned(),
                page_size,
                page_token: params
                    .get("pageToken")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                updated_after_ms: match params.get("statusTimestampAfter").and_then(Value::as_str) {
                    None => 0,
                    Some(time) => chrono::DateTime::parse_from_rfc3339(time)
                        .map_err(|_| {
                            RpcError::invalid_params("statusTimestampAfter must be an RFC 3339 time")
                        })?
                        .timestamp_millis(),
                },
            },
        )
        .await?;
    let artifacts = params.get("includeArtifacts") == Some(&Value::Bool(true));
    let history = history_length(params);
    let tasks: Vec<Value> = listed
        .tasks
        .iter()
        .map(|task| {
            let mut task = dialect.task(task, history);
            if !artifacts && let Some(object) = task.as_object_mut() {
                object.remove("artifacts");
            }
            task
        })
        .collect();
    Ok(Answer::Result(json!({
        "pageSize": if page_size > 0 { page_size } else { 50 },
        "tasks": tasks,
        "nextPageToken": listed.next_page_token,
        "totalSize": listed.total_size,
    })))
}
