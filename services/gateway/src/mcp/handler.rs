//! Tools are the agents service's actions: listed from its catalog, called as the authenticated
//! caller, with its progress reports passed on as MCP progress notifications.

use std::sync::Arc;
use std::time::Duration;

use gpuproxy_domain::Principal;
use gpuproxy_errors::{ErrorCode, code_of};
use gpuproxy_proto::gpuproxy::agents::v1 as pb;
use gpuproxy_proto::gpuproxy::agents::v1::agents_service_client::AgentsServiceClient;
use gpuproxy_server::GrpcChannel;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig,
    Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio::sync::OnceCell;

use crate::operations::idempotency_key;

/// What the server tells a client about itself.
const INSTRUCTIONS: &str = "GPU Proxy rents GPUs from vast.ai and io.net for you. List offers with \
list_gpu_instances, rent one with create_gpu_instance or several with reserve_gpus, see them with \
list_my_instances and destroy them with destroy_gpu_instance. Renting spends your credits and is \
checked against your spending limits first (get_spending_info, check_spending_limit).";

/// The MCP server of one session (or one stateless request): cheap to clone, everything shared.
#[derive(Debug, Clone)]
pub struct McpHandler {
    agents: AgentsServiceClient<GrpcChannel>,
    tools: Arc<OnceCell<Arc<[Tool]>>>,
    call_timeout: Duration,
}

impl McpHandler {
    /// Returns a handler calling `agents`, whose calls must answer within `call_timeout`.
    pub fn new(agents: AgentsServiceClient<GrpcChannel>, call_timeout: Duration) -> Self {
        McpHandler {
            agents,
            tools: Arc::new(OnceCell::new()),
            call_timeout,
        }
    }

    /// The catalog as tools, asked for once: it changes only with a release.
    async fn tools(&self) -> Result<Arc<[Tool]>, ErrorData> {
        self.tools
            .get_or_try_init(|| async {
                let listed = tokio::time::timeout(
                    self.call_timeout,
                    self.agents.clone().list_actions(pb::ListActionsRequest {}),
                )
                .await
                .map_err(|_| ErrorData::internal_error("the agents service did not answer", None))?
                .map_err(|status| ErrorData::internal_error(status.message().to_owned(), None))?;
                listed
                    .into_inner()
                    .actions
                    .into_iter()
                    .map(tool)
                    .collect::<Result<Arc<[Tool]>, ErrorData>>()
            })
            .await
            .cloned()
    }
}

/// Converts an action to a tool: its schemas and what it does, as the annotations' hints.
fn tool(action: pb::Action) -> Result<Tool, ErrorData> {
    let object = |text: &str| {
        serde_json::from_str::<JsonObject>(text)
            .map(Arc::new)
            .map_err(|error| ErrorData::internal_error(format!("a schema is not an object: {error}"), None))
    };
    let annotations = ToolAnnotations::new()
        .read_only(action.read_only)
        .destructive(action.destructive)
        .idempotent(action.idempotent)
        .open_world(!action.read_only);
    Ok(
        Tool::new(action.name, action.description, object(&action.input_schema)?)
            .with_raw_output_schema(object(&action.output_schema)?)
            .with_annotations(annotations),
    )
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("gpuproxy", env!("CARGO_PKG_VERSION")).with_title("GPU Proxy"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools().await?.to_vec()))
    }

    /// Runs the action as the caller the gateway authenticated. An action that fails is a tool
    /// error the model can read (`CODE: message`); a tool that does not exist or arguments its
    /// schema refuses are protocol errors (-32602).
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let parts = context.extensions.get::<http::request::Parts>().ok_or_else(|| {
            ErrorData::internal_error("the request reached MCP without its HTTP parts", None)
        })?;
        let principal = parts
            .extensions
            .get::<Arc<Principal>>()
            .ok_or_else(|| ErrorData::internal_error("the request reached MCP unauthenticated", None))?;
        let idempotency_key = idempotency_key(&parts.headers)
            .map_err(|error| ErrorData::invalid_params(error.to_string(), None))?;
        let call = pb::CallActionRequest {
            user_id: principal.user_id.to_string(),
            admin: principal.is_admin,
            name: request.name.to_string(),
            arguments: request
                .arguments
                .map(|arguments| serde_json::Value::Object(arguments).to_string())
                .unwrap_or_default(),
            idempotency_key,
        };
        let started = tokio::time::timeout(self.call_timeout, self.agents.clone().call_action(call)).await;
        let mut events = match started {
            Ok(Ok(events)) => events.into_inner(),
            Ok(Err(status)) => return refused(&request.name, &status),
            Err(_) => {
                return Ok(tool_error(
                    ErrorCode::Timeout,
                    "the agents service did not answer",
                ));
            }
        };
        let token = context.meta.get_progress_token();
        loop {
            let event = match events.message().await {
                Ok(Some(event)) => event,
                Ok(None) => {
                    return Ok(tool_error(
                        ErrorCode::Unavailable,
                        "the agents service ended the call without an answer",
                    ));
                }
                Err(status) => return refused(&request.name, &status),
            };
            match event.event {
                Some(pb::call_action_event::Event::Progress(report)) => {
                    if let Some(token) = &token {
                        let mut notification = ProgressNotificationParam::new(token.clone(), report.progress)
                            .with_message(report.message);
                        if report.total > 0.0 {
                            notification = notification.with_total(report.total);
                        }
                        // A client that went away misses its progress; the action goes on.
                        let _ = context.peer.notify_progress(notification).await;
                    }
                }
                Some(pb::call_action_event::Event::Outcome(outcome)) => return Ok(answer(outcome)),
                None => {}
            }
        }
    }
}

/// A call the agents service refused before running anything: an unknown tool or bad arguments
/// are the caller's protocol error; anything else (a service down) is a tool error to read.
fn refused(name: &str, status: &tonic::Status) -> Result<CallToolResponse, ErrorData> {
    match code_of(status) {
        ErrorCode::UnknownAction => Err(ErrorData::invalid_params(format!("unknown tool: {name}"), None)),
        ErrorCode::ValidationFailed => Err(ErrorData::invalid_params(status.message().to_owned(), None)),
        code => Ok(tool_error(code, status.message())),
    }
}

fn answer(outcome: pb::ActionOutcome) -> CallToolResponse {
    match outcome.outcome {
        Some(pb::action_outcome::Outcome::Result(text)) => match serde_json::from_str(&text) {
            Ok(value) => CallToolResult::structured(value).into(),
            Err(_) => tool_error(
                ErrorCode::Internal,
                "the action answered something that is not JSON",
            ),
        },
        Some(pb::action_outcome::Outcome::Error(error)) => CallToolResult::error(vec![ContentBlock::text(
            format!("{}: {}", error.code, error.message),
        )])
        .into(),
        None => tool_error(ErrorCode::Internal, "the action answered nothing"),
    }
}

fn tool_error(code: ErrorCode, message: &str) -> CallToolResponse {
    CallToolResult::error(vec![ContentBlock::text(format!("{code}: {message}"))]).into()
}
