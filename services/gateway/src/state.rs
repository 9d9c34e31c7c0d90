//! What every handler can reach.

use std::time::Duration;

use gpuproxy_telemetry::Metrics;

use crate::gatekeeper::Gatekeeper;
use crate::health::HealthChecker;

/// The gateway's shared state, behind one `Arc`: axum clones the state for every handler and
/// middleware of every request, and cloning the fields themselves (gRPC clients, each a boxed
/// channel) costs allocations. Built once in [`crate::App::build`]; fields are reached by `Deref`.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: std::sync::Arc<SharedState>,
}

impl AppState {
    /// Wraps `shared`.
    pub fn new(shared: SharedState) -> Self {
        AppState {
            shared: std::sync::Arc::new(shared),
        }
    }

    /// A state of its own for one REST worker (`http_workers.rs`): the same clients, caches, hub and
    /// metrics (each shares what it holds), its own connections to instances and credential memo,
    /// and its own `Arc`, so that the clones every request makes do not bounce one reference count
    /// between cores.
    pub fn for_worker(&self) -> AppState {
        AppState::new(SharedState {
            data_plane: self.data_plane.for_worker(),
            gatekeeper: self.gatekeeper.for_worker(),
            ..SharedState::clone(&self.shared)
        })
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.shared
    }
}

/// What every handler can reach: the control plane's operations, the data plane, and what both
/// fronts share (admission, health, the event hub, metrics). Every field's clone shares what it holds.
#[derive(Debug, Clone)]
pub struct SharedState {
    /// The internal services and the operations every front shares.
    pub operations: crate::operations::Operations,
    /// Proxied traffic: the ways out, the load balancer link, per-request charges.
    pub data_plane: crate::data_plane::DataPlane,
    /// Who gets in.
    pub gatekeeper: Gatekeeper,
    /// Dependency probes.
    pub health: HealthChecker,
    /// The agents' actions, as every agent front calls them.
    pub agents: crate::agent_actions::AgentActions,
    /// MCP: its sessions, allowed origins and the actions.
    pub mcp: crate::mcp::McpFront,
    /// The `/ws` connections of this gateway.
    pub hub: crate::hub::Hub,
    /// Their bounds.
    pub ws: crate::config::WsConfig,
    /// The Prometheus registry.
    pub metrics: Metrics,
    /// The package version, reported by `/health`.
    pub version: &'static str,
    /// The longest a REST request may take.
    pub request_timeout: Duration,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// `ML_MAX_MODEL_BYTES` plus room for the form around the file: the body limit of model uploads.
    pub max_upload_bytes: usize,
    /// `PUBLIC_URL`, without a trailing slash.
    pub public_url: Option<std::sync::Arc<str>>,
}
