//! What every handler can reach.

use std::time::Duration;

use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;
use gpuproxy_server::GrpcChannel;
use gpuproxy_telemetry::Metrics;

use crate::gatekeeper::Gatekeeper;
use crate::health::HealthChecker;

/// The gateway's shared state: clients of the internal services and the request-path helpers.
/// Cheap to clone; built once in [`crate::App::build`].
#[derive(Debug, Clone)]
pub struct AppState {
    /// The auth service.
    pub auth: AuthServiceClient<GrpcChannel>,
    /// The provider catalog.
    pub catalog: CatalogServiceClient<GrpcChannel>,
    /// Who gets in.
    pub gatekeeper: Gatekeeper,
    /// Dependency probes.
    pub health: HealthChecker,
    /// The Prometheus registry.
    pub metrics: Metrics,
    /// The package version, reported by `/health`.
    pub version: &'static str,
    /// The longest a REST request may take.
    pub request_timeout: Duration,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
}
