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
    /// `database`, `redis`, `nats`, `events` (whether events reach the bus) and each service:
    /// `healthy`, `unhealthy` or `in_process` (embedded stand-ins for Redis and NATS).
    pub services: BTreeMap<String, &'static str>,
    /// Each GPU provider: `ok`, `degraded` (stale or missing offers), `open` (circuit breaker open)
    /// or `disabled` (no API key).
    pub providers: BTreeMap<String, ProviderHealthDto>,
    /// Why the status is not `ok`, one line each, when something says (an unusable event stream,
    /// events waiting in a service's outbox).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// One GPU provider's health as the catalog sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderHealthDto {
    /// `ok`, `degraded`, `open` or `disabled`.
    #[schema(example = "ok")]
    pub status: String,
    /// The circuit breaker: `closed`, `open` or `half_open`.
    #[schema(example = "closed")]
    pub breaker: String,
    /// Offers in the cache.
    pub offers: i32,
    /// Age of the cached offers in seconds, when any are cached.
    pub offers_age_seconds: Option<f64>,
    /// Recent average call latency.
    pub avg_latency_ms: f64,
    /// Share of recent calls that failed (0..1).
    pub error_rate: f64,
    /// The last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// True when the local provider simulator stands in for the real marketplace.
    pub simulated: bool,
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
        providers: report
            .providers
            .into_iter()
            .map(|provider| {
                let dto = ProviderHealthDto {
                    status: provider.state,
                    breaker: provider.breaker,
                    offers: provider.offers,
                    #[allow(clippy::cast_precision_loss, reason = "an age in ms is far below 2^52")]
                    offers_age_seconds: (provider.offers_age_ms >= 0)
                        .then(|| provider.offers_age_ms as f64 / 1000.0),
                    avg_latency_ms: provider.avg_latency_ms,
                    error_rate: provider.error_rate,
                    last_error: (!provider.last_error.is_empty()).then_some(provider.last_error),
                    simulated: provider.simulated,
                };
                (provider.provider, dto)
            })
            .collect(),
        problems: report.problems,
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
