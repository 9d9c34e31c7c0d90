//! `aiserve-gpuproxy-client mcp`: an MCP server on standard input and output that forwards every
//! request to the gateway's MCP endpoint with the user's key, so that a desktop assistant's
//! configuration names a real MCP server process. Progress the gateway sends for a call reaches
//! the assistant under the assistant's own progress token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use http::{HeaderName, HeaderValue};
use rmcp::model::{
    CallToolRequest, CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig,
    ClientRequest, Implementation, ListToolsResult, PaginatedRequestParams, ProgressNotificationParam,
    ProgressToken, ProtocolVersion, ServerCapabilities, ServerConfig, ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RequestContext};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{
    ClientHandler, ClientLifecycleMode, ClientServiceExt, ErrorData, Peer, RoleClient, RoleServer,
    ServerHandler, ServiceError, ServiceExt,
};

/// How the bridge proves who the user is to the gateway.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// `-key` / `GPUPROXY_API_KEY`.
    Key(String),
    /// `--token` / `GPUPROXY_TOKEN`.
    Token(String),
}

impl Credentials {
    /// Returns the key when there is one, else the token, else nothing.
    pub fn of(key: Option<String>, token: Option<String>) -> Option<Self> {
        key.map(Credentials::Key).or(token.map(Credentials::Token))
    }
}

/// Calls in flight that asked for progress: the gateway's token → the assistant and its token.
type ProgressRoutes = Arc<Mutex<HashMap<ProgressToken, (Peer<RoleServer>, ProgressToken)>>>;

/// Serves MCP on standard input and output until the assistant closes it, forwarding to
/// `server`'s `/api/v1/mcp` (statelessly, protocol 2026-07-28, so any gateway replica may answer).
pub async fn serve(server: &str, credentials: Credentials) -> anyhow::Result<()> {
    let (name, value) = match credentials {
        Credentials::Key(key) => (HeaderName::from_static("x-api-key"), key),
        Credentials::Token(token) => (http::header::AUTHORIZATION, format!("Bearer {token}")),
    };
    let value = HeaderValue::from_str(&value).context("the key or token is not a valid header value")?;
    let url = format!("{}/api/v1/mcp", server.trim_end_matches('/'));
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.clone())
            .custom_headers(HashMap::from([(name, value)])),
    );
    let routes = ProgressRoutes::default();
    let upstream = Upstream {
        routes: routes.clone(),
    }
    .serve_with_lifecycle(
        transport,
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await
    .with_context(|| format!("connecting to {url}"))?;
    let instructions = upstream.peer_info().and_then(|info| info.instructions.clone());
    let bridge = Bridge {
        upstream: upstream.peer().clone(),
        routes,
        instructions,
    };
    let downstream = bridge
        .serve(rmcp::transport::stdio())
        .await
        .context("starting MCP on standard input and output")?;
    downstream.waiting().await.context("serving MCP")?;
    upstream
        .cancel()
        .await
        .context("closing the gateway connection")?;
    Ok(())
}

/// A call's entry in the progress routes, for as long as the call runs.
struct ProgressRoute {
    routes: ProgressRoutes,
    token: ProgressToken,
}

impl ProgressRoute {
    fn open(routes: &ProgressRoutes, token: ProgressToken, to: (Peer<RoleServer>, ProgressToken)) -> Self {
        routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(token.clone(), to);
        ProgressRoute {
            routes: routes.clone(),
            token,
        }
    }
}

impl Drop for ProgressRoute {
    fn drop(&mut self) {
        self.routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.token);
    }
}

/// The gateway side: passes progress on to whoever asked for it.
#[derive(Clone)]
struct Upstream {
    routes: ProgressRoutes,
}

impl ClientHandler for Upstream {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("aiserve-gpuproxy-client", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        let route = self
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&params.progress_token)
            .cloned();
        if let Some((assistant, token)) = route {
            let mut params = params;
            params.progress_token = token;
            let _ = assistant.notify_progress(params).await;
        }
    }
}

/// The assistant side: every tool is the gateway's.
#[derive(Clone)]
struct Bridge {
    upstream: Peer<RoleClient>,
    routes: ProgressRoutes,
    instructions: Option<String>,
}

impl ServerHandler for Bridge {
    fn get_info(&self) -> ServerConfig {
        let config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("gpuproxy", env!("CARGO_PKG_VERSION")).with_title("GPU Proxy"),
            );
        match &self.instructions {
            Some(instructions) => config.with_instructions(instructions.clone()),
            None => config,
        }
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.upstream.list_tools(request).await.map_err(upstream_error)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let handle = self
            .upstream
            .send_request_with_option(
                ClientRequest::CallToolRequest(CallToolRequest::new(request)),
                PeerRequestOptions::no_options(),
            )
            .await
            .map_err(upstream_error)?;
        // Removed when the call ends, however it ends (an assistant that cancels drops this future).
        let _route = context.meta.get_progress_token().map(|token| {
            ProgressRoute::open(
                &self.routes,
                handle.progress_token.clone(),
                (context.peer.clone(), token),
            )
        });
        let answer = handle.await_response().await;
        match answer.map_err(upstream_error)? {
            ServerResult::CallToolResult(result) => Ok(result.into()),
            _ => Err(ErrorData::internal_error(
                "the gateway answered a tool call with something else",
                None,
            )),
        }
    }
}

/// The gateway's protocol errors pass through as they are; a broken connection is an internal error.
fn upstream_error(error: ServiceError) -> ErrorData {
    match error {
        ServiceError::McpError(error) => error,
        other => ErrorData::internal_error(format!("the gateway: {other}"), None),
    }
}
