//! `/api/v1/gpu/instances/{provider}/{id}` (POST rents an offer, DELETE destroys one of the
//! caller's instances) and `/api/v1/gpu/instances/mine`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::money::dollars;
use crate::operations::{LaunchInput, Operations, RentInput, idempotency_key};
use crate::rest::envelope::{DataEnvelope, ListEnvelope};
use crate::rest::principal::AuthUser;
use crate::rest::timestamps::rfc3339;
use crate::{AppState, Error};

/// Routes of the caller's instances (create and destroy share their path with the offer lookup,
/// so `gpu::router` mounts them).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(my_instances))
}

/// What to run on the rented GPU. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchDto {
    /// The container image (default `nvidia/cuda:12.0.0-base-ubuntu22.04`).
    #[schema(example = "vllm/vllm-openai:latest")]
    pub image: Option<String>,
    /// Environment variables (never stored by GPU Proxy).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Ports to expose; the first is where proxied traffic goes (default 8000).
    #[serde(default)]
    pub ports: Vec<i32>,
    /// Disk, GB (default: the provider's).
    pub disk_gb: Option<i32>,
    /// Destroy the instance after this many minutes without proxied traffic; 0 or absent = never.
    pub autostop_minutes: Option<i32>,
}

impl From<LaunchDto> for LaunchInput {
    fn from(dto: LaunchDto) -> Self {
        LaunchInput {
            image: dto.image,
            env: dto.env.into_iter().collect(),
            ports: dto.ports,
            disk_gb: dto.disk_gb,
            autostop_minutes: dto.autostop_minutes,
        }
    }
}

/// One of the caller's rented instances.
#[derive(Debug, Serialize, ToSchema)]
pub struct RentedInstanceDto {
    /// The provider's instance id: what `DELETE /gpu/instances/{provider}/{instance_id}` takes.
    #[schema(example = "27182818")]
    pub instance_id: String,
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// The offer it was rented from.
    pub offer_id: String,
    /// The provider's contract (the same id, under the name the original product used).
    pub contract_id: String,
    /// The reservation it belongs to.
    pub reservation_id: Option<String>,
    /// `creating`, `pending`, `loading`, `running`, `destroying`, `terminated` or `failed`.
    #[schema(example = "running")]
    pub status: String,
    /// The GPU model.
    pub gpu_model: String,
    /// GB per GPU.
    pub vram_gb: i32,
    /// GPUs.
    pub num_gpus: i32,
    /// USD per hour.
    pub price_per_hour: f64,
    /// Where it runs.
    pub location: String,
    /// `http://host:port` of its first port, once running.
    pub endpoint: Option<String>,
    /// Idle minutes before it is destroyed; 0 = never.
    pub autostop_minutes: i32,
    /// When it was rented.
    pub created_at: Option<String>,
    /// When it last served proxied traffic.
    pub last_used_at: Option<String>,
    /// Why it failed or ended.
    pub reason: Option<String>,
}

impl From<reservation::Instance> for RentedInstanceDto {
    fn from(instance: reservation::Instance) -> Self {
        let optional = |text: String| Some(text).filter(|text| !text.is_empty());
        RentedInstanceDto {
            contract_id: instance.instance_id.clone(),
            instance_id: instance.instance_id,
            provider: instance.provider,
            offer_id: instance.offer_id,
            reservation_id: optional(instance.reservation_id),
            status: instance.status,
            gpu_model: instance.gpu_model,
            vram_gb: instance.vram_gb,
            num_gpus: instance.num_gpus,
            price_per_hour: dollars(instance.price_micros_per_hour),
            location: instance.location,
            endpoint: optional(instance.endpoint),
            autostop_minutes: instance.autostop_minutes,
            created_at: rfc3339(instance.created_at_ms),
            last_used_at: rfc3339(instance.last_used_ms),
            reason: optional(instance.reason),
        }
    }
}

/// The answer to a destroy.
#[derive(Debug, Serialize, ToSchema)]
pub struct DestroyedDto {
    /// The instance.
    pub instance_id: String,
    /// Its provider.
    pub provider: String,
    /// True once the provider confirmed it is gone (false: the destroy is retried in the background).
    pub terminated: bool,
}

/// `?all=true` also lists ended instances.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "documents the parameter; the handler parses it to answer bad values with a code"
)]
pub struct MineQuery {
    /// Also list terminated and failed instances (`true`/`false`, `1`/`0`).
    all: Option<bool>,
}

/// Rents an offer from the listing. The instance starts `pending` and reaches `running` on its own;
/// poll `GET /gpu/instances/mine`. With `Idempotency-Key`, a retried create returns the first instance.
#[utoipa::path(post, path = "/instances/{provider}/{instance_id}", tag = "gpu",
    params(("provider" = String, Path, description = "`vast.ai` or `io.net`"),
           ("instance_id" = String, Path, description = "The offer id from the listing"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create rent once")),
    request_body = LaunchDto,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "Rented", body = DataEnvelope<RentedInstanceDto>),
        (status = 400, description = "A bad field (VALIDATION_FAILED)", body = ErrorBody),
        (status = 404, description = "No such offer (NOT_FOUND)", body = ErrorBody),
        (status = 410, description = "The offer was rented meanwhile (OFFER_UNAVAILABLE)", body = ErrorBody),
        (status = 502, description = "The provider failed (PROVIDER_UNAVAILABLE, PROVIDER_REJECTED)", body = ErrorBody),
    ))]
pub(super) async fn create_instance(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path((provider, offer_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<DataEnvelope<RentedInstanceDto>>), Error> {
    // The seed's clients send `{}` or nothing at all; both mean the defaults.
    let launch: LaunchDto = if body.iter().all(u8::is_ascii_whitespace) {
        LaunchDto::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            let code = if error.is_data() {
                ErrorCode::ValidationFailed
            } else {
                ErrorCode::MalformedRequest
            };
            Error::new(code, format!("the body is not a launch configuration: {error}"))
        })?
    };
    let input = RentInput {
        provider,
        offer_id,
        launch: launch.into(),
        idempotency_key: idempotency_key(&headers)?,
    };
    let created = operations.rent(&user, input).await?;
    Ok((StatusCode::CREATED, Json(DataEnvelope::new(created.into()))))
}

/// Destroys one of the caller's instances; answers once the provider confirms it is gone. Another
/// user's instance is 404, as if it did not exist.
#[utoipa::path(delete, path = "/instances/{provider}/{instance_id}", tag = "gpu",
    params(("provider" = String, Path, description = "`vast.ai` or `io.net`"),
           ("instance_id" = String, Path, description = "The instance id (contract id)")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Destroyed", body = DataEnvelope<DestroyedDto>),
        (status = 404, description = "Not one of the caller's instances (NOT_FOUND)", body = ErrorBody),
        (status = 502, description = "The provider failed; the destroy is retried (PROVIDER_UNAVAILABLE)", body = ErrorBody),
    ))]
pub(super) async fn destroy_instance(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path((provider, instance_id)): Path<(String, String)>,
) -> Result<Json<DataEnvelope<DestroyedDto>>, Error> {
    let destroyed = operations.destroy(&user, &provider, &instance_id).await?;
    Ok(Json(DataEnvelope::new(DestroyedDto {
        instance_id,
        provider,
        terminated: destroyed.terminated,
    })))
}

/// Lists the caller's instances, oldest first.
#[utoipa::path(get, path = "/instances/mine", tag = "gpu", params(MineQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "The caller's instances", body = ListEnvelope<RentedInstanceDto>)))]
async fn my_instances(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<ListEnvelope<RentedInstanceDto>>, Error> {
    let mut include_ended = false;
    for (name, value) in pairs {
        if name == "all" {
            include_ended = match value.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" | "" => false,
                _ => {
                    return Err(
                        Error::new(ErrorCode::ValidationFailed, "all must be true or false")
                            .with_field("all"),
                    );
                }
            };
        }
    }
    let listed = operations.my_instances(&user, include_ended).await?;
    Ok(Json(ListEnvelope::new(
        listed.into_iter().map(RentedInstanceDto::from).collect(),
    )))
}
