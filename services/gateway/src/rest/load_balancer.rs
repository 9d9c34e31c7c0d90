//! `/api/v1/loadbalancer/*`: the caller's strategy, switchable at run time, and the load of their
//! instances and of the providers.

use axum::Json;
use axum::extract::State;
use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::operations::{LoadKind, LoadReport, Operations, ProviderLoad};
use crate::rest::envelope::{DataEnvelope, Envelope};
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;
use crate::rest::query_params::QueryParams;
use crate::rest::timestamps::rfc3339;
use crate::{AppState, Error};

/// Load-balancer routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_strategy, set_strategy))
        .routes(routes!(loads))
        .routes(routes!(load))
}

/// `{"strategy": "least_connections"}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategyDto {
    /// `round_robin`, `equal_weighted`, `weighted_round_robin`, `least_connections` or `least_response_time`.
    #[schema(example = "least_connections")]
    pub strategy: String,
}

/// One of the caller's instances in rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceLoadDto {
    /// The instance.
    pub instance_id: String,
    /// Its provider.
    pub provider: String,
    /// Requests in flight.
    pub active_connections: i32,
    /// Requests sent to it, ever.
    pub total_connections: i64,
    /// Moving average of its response times, ms.
    pub avg_response_time_ms: f64,
    /// Its last response time, ms.
    pub last_response_time_ms: f64,
    /// Its `weighted_round_robin` weight.
    pub weight: f64,
    /// When it last served a request.
    pub last_used: Option<String>,
    /// In the rotation (false after failed requests or a failed health probe).
    pub healthy: bool,
    /// Moving share of failed requests, 0..1.
    pub load_score: f64,
    /// Failed requests, ever.
    pub failed_requests: i64,
}

/// One provider's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderLoadDto {
    /// The provider.
    pub provider: String,
    /// Offers available.
    pub connections: i32,
    /// Average latency of recent calls, ms.
    pub avg_response_time_ms: f64,
    /// Share of recent calls that failed, 0..1.
    pub load_score: f64,
}

/// The caller's strategy and loads.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoadsDto {
    /// The caller's strategy.
    pub strategy: String,
    /// The caller's instances in rotation (`type` server or all).
    pub server_load: Vec<InstanceLoadDto>,
    /// Each provider (`type` provider or all).
    pub provider_load: Vec<ProviderLoadDto>,
}

/// `?type=server|provider|all` (default all).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoadsQuery {
    /// `server` (the caller's instances), `provider` or `all`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// `?instance_id=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoadQuery {
    /// The instance.
    pub instance_id: Option<String>,
}

impl From<reservation::InstanceLoad> for InstanceLoadDto {
    fn from(load: reservation::InstanceLoad) -> Self {
        InstanceLoadDto {
            instance_id: load.instance_id,
            provider: load.provider,
            active_connections: load.active_connections,
            total_connections: load.total_connections,
            avg_response_time_ms: load.avg_response_time_ms,
            last_response_time_ms: load.last_response_time_ms,
            weight: load.weight,
            last_used: rfc3339(load.last_used_ms),
            healthy: load.healthy,
            load_score: load.load_score,
            failed_requests: load.failed_requests,
        }
    }
}

impl From<ProviderLoad> for ProviderLoadDto {
    fn from(load: ProviderLoad) -> Self {
        ProviderLoadDto {
            provider: load.provider,
            connections: load.connections,
            avg_response_time_ms: load.avg_response_time_ms,
            load_score: load.load_score,
        }
    }
}

/// Returns the caller's strategy (`LB_STRATEGY` until they choose one).
#[utoipa::path(get, path = "/strategy", tag = "loadbalancer", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "The strategy", body = Envelope<StrategyDto>)))]
async fn get_strategy(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
) -> Result<Json<Envelope<StrategyDto>>, Error> {
    let strategy = operations.strategy(&user).await?;
    Ok(Json(Envelope::new(StrategyDto { strategy })))
}

/// Switches the caller's strategy; the next request uses it, no restart needed.
#[utoipa::path(put, path = "/strategy", tag = "loadbalancer", request_body = StrategyDto,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The new strategy", body = Envelope<StrategyDto>),
        (status = 400, description = "Not a strategy (VALIDATION_FAILED)", body = ErrorBody),
    ))]
async fn set_strategy(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<StrategyDto>,
) -> Result<Json<Envelope<StrategyDto>>, Error> {
    let strategy = operations.set_strategy(&user, body.strategy).await?;
    Ok(Json(Envelope::new(StrategyDto { strategy })))
}

/// Returns the load of the caller's instances (connections, response times, health) and of the providers.
#[utoipa::path(get, path = "/loads", tag = "loadbalancer", params(LoadsQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Loads", body = DataEnvelope<LoadsDto>),
        (status = 400, description = "A bad type (VALIDATION_FAILED)", body = ErrorBody),
    ))]
async fn loads(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    QueryParams(query): QueryParams<LoadsQuery>,
) -> Result<Json<DataEnvelope<LoadsDto>>, Error> {
    let kind = LoadKind::parse(query.kind.as_deref().unwrap_or_default())?;
    let LoadReport { servers, providers } = operations.load_report(&user, kind).await?;
    Ok(Json(DataEnvelope::new(LoadsDto {
        strategy: servers.current_strategy,
        server_load: servers
            .server_load
            .into_iter()
            .map(InstanceLoadDto::from)
            .collect(),
        provider_load: providers.into_iter().map(ProviderLoadDto::from).collect(),
    })))
}

/// Returns the load of one of the caller's instances in rotation.
#[utoipa::path(get, path = "/load", tag = "loadbalancer", params(LoadQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The instance's load", body = DataEnvelope<InstanceLoadDto>),
        (status = 400, description = "No instance_id (VALIDATION_FAILED)", body = ErrorBody),
        (status = 404, description = "Not one of the caller's running instances (NOT_FOUND)", body = ErrorBody),
    ))]
async fn load(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    QueryParams(query): QueryParams<LoadQuery>,
) -> Result<Json<DataEnvelope<InstanceLoadDto>>, Error> {
    let instance_id = query.instance_id.unwrap_or_default();
    let load = operations.instance_load(&user, &instance_id).await?;
    Ok(Json(DataEnvelope::new(InstanceLoadDto::from(load))))
}
