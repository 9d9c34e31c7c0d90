//! Tools are the agents' actions ([`AgentActions`]): listed from the catalog, called as the
//! authenticated caller, with progress passed on as MCP progress notifications.

use std::sync::Arc;

use gpuproxy_domain::Principal;
use gpuproxy_proto::gpuproxy::agents::v1 as pb;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities, ServerConfig,
    Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use tokio::sync::{OnceCell, mpsc};

use crate::agent_actions::{AgentActions, Outcome, Progress, Refused};
use crate::operations::idempotency_key;

/// What the server tells a client about itself.
const INSTRUCTIONS: &str = "GPU Proxy rents GPUs from vast.ai and io.net for you. List offers with \
list_gpu_instances, rent one with create_gpu_instance or several with reserve_gpus, see them with \
list_my_instances, send them requests with proxy_inference_request and destroy them with \
destroy_gpu_instance. Renting spends your credits and is checked against your spending limits \
first (get_spending_info, check_spending_limit).";

/// Progress reports that may wait for a slow client before the action waits for it.
const PROGRESS_BUFFER: usize = 16;

/// The MCP server of one session (or one stateless request): cheap to clone, everything shared.
#[derive(Debug, Clone)]
pub struct McpHandler {
    actions: AgentActions,
    tools: Arc<OnceCell<Arc<[Tool]>>>,
}

impl McpHandler {
    /// Returns a handler over `actions`.
    pub fn new(actions: AgentActions) -> Self {
        McpHandler {
            actions,
            tools: Arc::new(OnceCell::new()),
        }
    }

    /// The catalog as tools, converted once.
    async fn tools(&self) -> Result<Arc<[Tool]>, ErrorData> {
        self.tools
            .get_or_try_init(|| async {
                let catalog = self
                    .actions
                    .catalog()
                    .await
                    .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
                catalog
                    .iter()
                    .map(tool)
                    .collect::<Result<Arc<[Tool]>, ErrorData>>()
            })
            .await
            .cloned()
    }
}

/// Converts an action to a tool: its schemas and what it does, as the annotations' hints.
fn tool(action: &pb::Action) -> Result<Tool, ErrorData> {
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
    Ok(Tool::new(
        action.name.clone(),
        action.description.clone(),
        object(&action.input_schema)?,
    )
    .with_raw_output_schema(object(&action.output_schema)?)
    .with_annotations(annotations))
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

    /// Runs the action as the caller the gateway authenticated. An action that fails, and
    /// arguments its schema refuses, are tool errors the model can read (`CODE: message`); a tool
    /// that does not exist is a protocol error (-32602).
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
        let arguments = request.arguments.map_or(Value::Null, Value::Object);
        let (progress, mut reports) = mpsc::channel::<Progress>(PROGRESS_BUFFER);
        let token = context.meta.get_progress_token();
        let notify = |report: Progress| {
            let peer = context.peer.clone();
            let token = token.clone();
            async move {
                if let Some(token) = token {
                    let mut notification =
                        ProgressNotificationParam::new(token, report.progress).with_message(report.message);
                    if report.total > 0.0 {
                        notification = notification.with_total(report.total);
                    }
                    // A client that went away misses its progress; the action goes on.
                    let _ = peer.notify_progress(notification).await;
                }
            }
        };
        let calling = self
            .actions
            .call(principal, &request.name, arguments, idempotency_key, &progress);
        tokio::pin!(calling);
        let answer = loop {
            tokio::select! {
                answer = &mut calling => break answer,
                Some(report) = reports.recv() => notify(report).await,
            }
        };
        // What the action reported just before it answered comes before the answer.
        while let Ok(report) = reports.try_recv() {
            notify(report).await;
        }
        match answer {
            Ok(Outcome::Done(result)) => Ok(CallToolResult::structured(result).into()),
            Ok(Outcome::Failed { code, message }) => {
                Ok(CallToolResult::error(vec![ContentBlock::text(format!("{code}: {message}"))]).into())
            }
            Err(Refused::UnknownAction(_)) => Err(ErrorData::invalid_params(
                format!("unknown tool: {}", request.name),
                None,
            )),
            // A tool error, not a protocol error, so that the model reads why and corrects its call.
            Err(Refused::InvalidArguments(message)) => Ok(CallToolResult::error(vec![ContentBlock::text(
                format!("VALIDATION_FAILED: {message}"),
            )])
            .into()),
        }
    }
}
