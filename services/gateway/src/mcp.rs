//! MCP at `/api/v1/mcp`: the action catalog of the agents service, as tools, over Streamable HTTP.
//!
//! rmcp speaks the protocol: the handshake era (`initialize`, `Mcp-Session-Id`) and the stateless
//! 2026-07-28 revision (`server/discover`, per-request `_meta`, the `MCP-Protocol-Version`,
//! `Mcp-Method` and `Mcp-Name` headers, -32022 for a version it does not speak) on the same
//! endpoint. This front only turns tools into actions and back ([`handler`]) over
//! [`AgentActions`], which every agent front shares. Before rmcp sees a request the gateway refuses a browser origin that is not allowed
//! (DNS rebinding) and a request without credentials, with its own error bodies.
//!
//! Sessions of the handshake era live in this process, shared by its REST workers; with several
//! gateways, clients of that era need sticky routing (clients of the stateless revision do not).

mod handler;
mod origin;
mod session_owners;

use std::sync::Arc;

use axum::Router;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use crate::AppState;
use crate::agent_actions::AgentActions;
use crate::rest::middleware::authenticate;

pub use handler::McpHandler;

/// The path MCP is served at.
pub const MCP_PATH: &str = "/api/v1/mcp";

/// What every REST worker's MCP route shares: the sessions of the handshake era, the allowed
/// browser origins and the actions.
#[derive(Debug, Clone)]
pub struct McpFront {
    sessions: Arc<LocalSessionManager>,
    owners: session_owners::SessionOwners,
    allowed_origins: Arc<[String]>,
    handler: McpHandler,
}

impl McpFront {
    /// Returns the front over `actions`; `allowed_origins` are the browser origins that may call
    /// it (`MCP_ALLOWED_ORIGINS`).
    pub fn new(actions: AgentActions, allowed_origins: Vec<String>) -> Self {
        McpFront {
            sessions: Arc::new(LocalSessionManager::default()),
            owners: session_owners::SessionOwners::default(),
            allowed_origins: allowed_origins.into(),
            handler: McpHandler::new(actions),
        }
    }

    /// Returns the MCP route: origin check, then authentication and rate limits, then the session's
    /// owner, then rmcp.
    pub fn router(&self, state: AppState) -> Router<AppState> {
        let handler = self.handler.clone();
        // The Host check is rmcp's answer to rebinding for servers without credentials; here every
        // request must carry the caller's key or token (which a rebinding page cannot send) and
        // browser origins are checked below, so the gateway may sit behind any host name.
        // Stateless answers are plain JSON unless progress comes first (then an event stream), so
        // that a request made by hand reads like any other API's.
        let config = StreamableHttpServerConfig::default()
            .disable_allowed_hosts()
            .disable_allowed_origins()
            .with_json_response(true)
            .with_max_request_body_bytes(state.max_body_bytes);
        let service = StreamableHttpService::new(move || Ok(handler.clone()), self.sessions.clone(), config);
        Router::new()
            .route_service(MCP_PATH, service)
            .route_layer(axum::middleware::from_fn_with_state(
                self.owners.clone(),
                session_owners::bind_sessions,
            ))
            .route_layer(authenticate(state))
            .route_layer(axum::middleware::from_fn_with_state(
                self.allowed_origins.clone(),
                origin::check_origin,
            ))
    }
}

/// MCP over Streamable HTTP (JSON-RPC 2.0): `initialize` then `tools/list` and `tools/call` with
/// the `Mcp-Session-Id` it returns (protocol 2025-11-25 and earlier), or each request on its own
/// with `_meta` and the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers (2026-07-28,
/// after `server/discover`). Send `Accept: application/json, text/event-stream`. `GET` opens a
/// session's event stream and `DELETE` ends a session. Use an MCP client library rather than
/// hand-made requests.
#[utoipa::path(post, path = "/api/v1/mcp", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "A JSON-RPC 2.0 request, notification or response"),
    responses(
        (status = 200, description = "The JSON-RPC answer, as JSON or as an event stream (text/event-stream) that carries progress notifications first"),
        (status = 202, description = "A notification or response was accepted"),
        (status = 400, description = "Not JSON-RPC, a missing session id, or an unsupported protocol version (-32022 with the supported versions)"),
        (status = 401, description = "Missing or invalid credentials", body = crate::error::ErrorBody),
        (status = 403, description = "A browser origin not in MCP_ALLOWED_ORIGINS (FORBIDDEN)", body = crate::error::ErrorBody),
        (status = 404, description = "An unknown or ended session"),
        (status = 406, description = "Accept does not name both application/json and text/event-stream"),
    ))]
#[expect(dead_code, reason = "documents the route rmcp serves; never called")]
pub(crate) async fn mcp() {}

/// Opens the event stream of a handshake-era session (`Mcp-Session-Id`), on which the server may
/// send notifications outside any request.
#[utoipa::path(get, path = "/api/v1/mcp", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    params(("Mcp-Session-Id" = String, Header, description = "The session `initialize` opened")),
    responses(
        (status = 200, description = "An event stream (text/event-stream)"),
        (status = 401, description = "Missing or invalid credentials", body = crate::error::ErrorBody),
        (status = 404, description = "An unknown or ended session"),
    ))]
#[expect(dead_code, reason = "documents the route rmcp serves; never called")]
pub(crate) async fn mcp_stream() {}

/// Ends a handshake-era session.
#[utoipa::path(delete, path = "/api/v1/mcp", tag = "agents",
    security(("bearer" = []), ("api_key" = [])),
    params(("Mcp-Session-Id" = String, Header, description = "The session to end")),
    responses(
        (status = 202, description = "The session is ended"),
        (status = 401, description = "Missing or invalid credentials", body = crate::error::ErrorBody),
        (status = 404, description = "An unknown or ended session"),
    ))]
#[expect(dead_code, reason = "documents the route rmcp serves; never called")]
pub(crate) async fn mcp_end() {}
