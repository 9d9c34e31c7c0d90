//! Operations: `/health`, `/metrics`, `/openapi.json`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::health::OverallStatus;
use crate::rest::OpenApiDocument;

/// Operations routes, open to anyone (no credentials, no rate limit).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(openapi))
}

/// The gateway's health and its dependencies'.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthDto {
    /// `ok`, `degraded` (serving; events delayed or rate limits off) or `down`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// RFC 3339.
    pub timestamp: String,
    /// The gateway's version.
    #[schema(example = "0.1.0")]
    pub version: &'static str,
    /// `database`, `redis`, `nats` and each service: `healthy`, `unhealthy` or `in_process` (embedded
    /// stand-ins for Redis and NATS).
    pub services: BTreeMap<String, &'static str>,
}

/// Reports the health of every dependency: 200 when serving (`ok` or `degraded`), 503 when `down`.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "Serving", body = HealthDto),
        (status = 503, description = "A service or the database is down", body = HealthDto),
    ))]
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let report = state.health.check().await;
    let status = if report.status == OverallStatus::Down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = HealthDto {
        status: report.status.as_str(),
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        version: state.version,
        services: report
            .dependencies
            .into_iter()
            .map(|(name, status)| (name, status.as_str()))
            .collect(),
    };
    (status, Json(body))
}

/// Liveness: 200 while the process serves HTTP at all.
#[utoipa::path(get, path = "/health/live", tag = "operations", responses((status = 200, description = "Alive")))]
async fn live() -> StatusCode {
    StatusCode::OK
}

/// Readiness: like `/health`, for load balancers and Kubernetes probes.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = HealthDto),
        (status = 503, description = "Not ready", body = HealthDto),
    ))]
async fn ready(state: State<AppState>) -> impl IntoResponse {
    health(state).await
}

/// Prometheus metrics: `gpuproxy_requests_total`, `gpuproxy_latency_seconds`, `gpuproxy_errors_total`,
/// `gpuproxy_active_instances`, …
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

/// This API's OpenAPI 3 document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3", content_type = "application/json")))]
async fn openapi(Extension(OpenApiDocument(document)): Extension<OpenApiDocument>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.as_str().to_owned(),
    )
}
