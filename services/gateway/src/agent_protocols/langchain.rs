//! LangChain: `GET /api/v1/langchain/tools` lists the catalog as function-calling tool schemas
//! (what `convert_to_openai_tool` makes), and `POST /api/v1/langchain` executes one:
//! `{"input": {"action": "execute", "tool": "list_gpu_instances", "tool_input": {…}}}`.

use axum::Json;
use axum::extract::State;
use gpuproxy_errors::ErrorCode;
use serde_json::{Value, json};

use crate::Error;
use crate::agent_actions::{AgentActions, Outcome, Refused};
use crate::agent_protocols::{Caller, arguments_of, error_object, run};
use crate::error::ErrorBody;
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;

/// Every action as a function-calling tool: `{"tools": [{"type": "function", "function": {name,
/// description, parameters}}], "count"}`.
#[utoipa::path(get, path = "/api/v1/langchain/tools", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "`{tools: [{type: function, function: {name, description, parameters}}], count}`", body = Value),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 503, description = "The agents service is unavailable (SERVICE_UNAVAILABLE)", body = ErrorBody),
    ))]
pub async fn tools(
    State(actions): State<AgentActions>,
    AuthUser(_caller): AuthUser,
) -> Result<Json<Value>, Error> {
    let catalog = actions.catalog().await?;
    let mut tools = Vec::with_capacity(catalog.len());
    for action in catalog.iter() {
        let parameters: Value = serde_json::from_str(&action.input_schema)
            .map_err(|error| Error::new(ErrorCode::Internal, format!("a schema is not JSON: {error}")))?;
        tools.push(json!({
            "type": "function",
            "function": {"name": action.name, "description": action.description, "parameters": parameters},
        }));
    }
    Ok(Json(json!({"count": tools.len(), "tools": tools})))
}

/// Executes one tool: `{"output": result, "tool", "status": "success"}`, or `"status": "error"`
/// with `error` (`{code, message}`) when the action failed. An unknown tool is 400
/// `UNKNOWN_ACTION`, a `tool_input` its schema refuses 400 `VALIDATION_FAILED`.
#[utoipa::path(post, path = "/api/v1/langchain", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = Value, description = "`{\"input\": {\"action\": \"execute\", \"tool\": \"list_gpu_instances\", \"tool_input\": {\"provider\": \"all\"}}}`"),
    responses(
        (status = 200, description = "`{output, tool, status: success|error, error}`", body = Value),
        (status = 400, description = "An unknown tool (UNKNOWN_ACTION) or a bad tool_input (VALIDATION_FAILED)", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
pub async fn execute(
    State(actions): State<AgentActions>,
    caller: Caller,
    JsonBody(message): JsonBody<Value>,
) -> Result<Json<Value>, Error> {
    Ok(Json(answer(&actions, &caller, &message).await?))
}

/// Answers one LangChain message.
pub async fn answer(actions: &AgentActions, caller: &Caller, message: &Value) -> Result<Value, Error> {
    let input = &message["input"];
    match input.get("action").and_then(Value::as_str).unwrap_or("execute") {
        "execute" => {}
        other => {
            return Err(Error::new(
                ErrorCode::ValidationFailed,
                format!("input.action must be execute, not {other}"),
            )
            .with_field("input.action"));
        }
    }
    let Some(tool) = input.get("tool").and_then(Value::as_str) else {
        return Err(Error::new(
            ErrorCode::ValidationFailed,
            "input.tool names the tool to execute",
        )
        .with_field("input.tool"));
    };
    match run(actions, caller, tool, arguments_of(input.get("tool_input"))).await {
        Ok(Outcome::Done(output)) => {
            Ok(json!({"output": output, "tool": tool, "status": "success", "error": null}))
        }
        Ok(Outcome::Failed { code, message }) => Ok(json!({
            "output": null, "tool": tool, "status": "error", "error": error_object(code, &message),
        })),
        Err(Refused::UnknownAction(_)) => Err(Error::new(
            ErrorCode::UnknownAction,
            format!("there is no tool {tool:?}; GET /api/v1/langchain/tools lists them"),
        )
        .with_field("input.tool")),
        Err(Refused::InvalidArguments(reason)) => {
            Err(Error::new(ErrorCode::ValidationFailed, reason).with_field("input.tool_input"))
        }
    }
}
