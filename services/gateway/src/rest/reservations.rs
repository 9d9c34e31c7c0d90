//! `POST /api/v1/gpu/instances/reserve` and the caller's reservations (`/api/v1/gpu/reservations`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::money::dollars;
use crate::operations::{Operations, ReserveFilters, ReserveInput, idempotency_key};
use crate::rest::envelope::{DataEnvelope, ListEnvelope};
use crate::rest::instances::{LaunchDto, RentedInstanceDto};
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;
use crate::rest::timestamps::rfc3339;
use crate::{AppState, Error};

/// Reservation routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reserve))
        .routes(routes!(list_reservations))
        .routes(routes!(release))
}

/// Which offers a reservation may use. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveFiltersDto {
    /// `vast.ai`, `io.net` or `all` (default).
    pub provider: Option<String>,
    /// Minimum VRAM per GPU, GB.
    #[schema(example = 24)]
    pub min_vram: Option<f64>,
    /// Maximum USD per hour per instance.
    #[schema(example = 2.0)]
    pub max_price: Option<f64>,
    /// Substring of the GPU model.
    pub gpu_model: Option<String>,
    /// Country code or substring of the location.
    pub location: Option<String>,
    /// Exact GPUs per instance.
    pub num_gpus: Option<i32>,
}

/// `{"count": 8, "filters": {...}, "config": {...}}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveDto {
    /// GPUs to reserve, 1–16.
    #[schema(example = 8)]
    pub count: i32,
    /// Which offers.
    #[serde(default)]
    pub filters: ReserveFiltersDto,
    /// What to run on each.
    #[serde(default)]
    pub config: LaunchDto,
}

/// One reserved instance.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservedDto {
    /// The provider's instance id (what destroy takes).
    pub instance_id: String,
    /// The provider's contract (the same id).
    pub contract_id: String,
    /// The offer rented.
    pub offer_id: String,
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// The GPU model.
    pub gpu_model: String,
    /// GB per GPU.
    pub vram: i32,
    /// USD per hour.
    pub price: f64,
    /// `pending`, `loading` or `running`.
    pub status: String,
}

/// `{"reservation_id", "reserved": [...], "count", "requested", "errors": [...], "status": "success"}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationDto {
    /// The reservation.
    pub reservation_id: String,
    /// What was rented.
    pub reserved: Vec<ReservedDto>,
    /// How many were rented.
    pub count: usize,
    /// How many were asked for.
    pub requested: i32,
    /// One line per slot that could not be filled, naming each offer tried and why it failed.
    pub errors: Vec<String>,
    /// Always `success` (a partial reservation is a success with errors).
    #[schema(example = "success")]
    pub status: &'static str,
}

/// A stored reservation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservationSummaryDto {
    /// The reservation.
    pub reservation_id: String,
    /// How many were asked for.
    pub requested: i32,
    /// Its instances, ended ones included.
    pub instances: Vec<RentedInstanceDto>,
    /// Slots that could not be filled.
    pub errors: Vec<String>,
    /// When it was made.
    pub created_at: Option<String>,
}

/// How many instances a release destroyed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReleasedDto {
    /// The reservation.
    pub reservation_id: String,
    /// Instances the providers confirmed terminated.
    pub released: i32,
}

fn reserved(instance: reservation::Instance) -> ReservedDto {
    ReservedDto {
        contract_id: instance.instance_id.clone(),
        instance_id: instance.instance_id,
        offer_id: instance.offer_id,
        provider: instance.provider,
        gpu_model: instance.gpu_model,
        vram: instance.vram_gb,
        price: dollars(instance.price_micros_per_hour),
        status: instance.status,
    }
}

impl From<ReserveFiltersDto> for ReserveFilters {
    fn from(dto: ReserveFiltersDto) -> Self {
        ReserveFilters {
            provider: dto.provider,
            min_vram: dto.min_vram,
            max_price: dto.max_price,
            gpu_model: dto.gpu_model,
            location: dto.location,
            num_gpus: dto.num_gpus,
        }
    }
}

/// Reserves up to 16 GPUs at once, picked with the caller's strategy and rented in parallel. When an
/// offer fails, the next best is tried (on either provider); what could not be filled is listed in
/// `errors`. Fewer matching offers than `count` is 409 and rents nothing.
#[utoipa::path(post, path = "/instances/reserve", tag = "gpu", request_body = ReserveDto,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retried reservation returns the first")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 201, description = "Reserved (maybe partly: see errors)", body = ReservationDto),
        (status = 400, description = "count outside 1-16 or a bad filter (VALIDATION_FAILED)", body = ErrorBody),
        (status = 409, description = "Fewer matching offers than count (INSUFFICIENT_OFFERS)", body = ErrorBody),
        (status = 502, description = "Nothing could be rented (PROVIDER_UNAVAILABLE)", body = ErrorBody),
    ))]
async fn reserve(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ReserveDto>,
) -> Result<(StatusCode, Json<ReservationDto>), Error> {
    let input = ReserveInput {
        count: body.count,
        filters: body.filters.into(),
        launch: body.config.into(),
        idempotency_key: idempotency_key(&headers)?,
    };
    let done = operations.reserve(&user, input).await?;
    let reserved: Vec<ReservedDto> = done.reserved.into_iter().map(reserved).collect();
    Ok((
        StatusCode::CREATED,
        Json(ReservationDto {
            reservation_id: done.reservation_id,
            count: reserved.len(),
            reserved,
            requested: done.requested,
            errors: done.errors,
            status: "success",
        }),
    ))
}

/// Lists the caller's reservations, newest first (the last 100).
#[utoipa::path(get, path = "/reservations", tag = "gpu", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "The caller's reservations", body = ListEnvelope<ReservationSummaryDto>)))]
async fn list_reservations(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
) -> Result<Json<ListEnvelope<ReservationSummaryDto>>, Error> {
    let listed = operations.reservations(&user).await?;
    Ok(Json(ListEnvelope::new(
        listed
            .into_iter()
            .map(|reservation| ReservationSummaryDto {
                reservation_id: reservation.reservation_id,
                requested: reservation.requested,
                instances: reservation
                    .instances
                    .into_iter()
                    .map(RentedInstanceDto::from)
                    .collect(),
                errors: reservation.errors,
                created_at: rfc3339(reservation.created_at_ms),
            })
            .collect(),
    )))
}

/// Destroys every instance of one of the caller's reservations.
#[utoipa::path(delete, path = "/reservations/{reservation_id}", tag = "gpu",
    params(("reservation_id" = String, Path, description = "The reservation")),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Released", body = DataEnvelope<ReleasedDto>),
        (status = 404, description = "Not one of the caller's reservations (NOT_FOUND)", body = ErrorBody),
    ))]
async fn release(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(reservation_id): Path<String>,
) -> Result<Json<DataEnvelope<ReleasedDto>>, Error> {
    let released = operations.release(&user, &reservation_id).await?;
    Ok(Json(DataEnvelope::new(ReleasedDto {
        reservation_id,
        released: released.released,
    })))
}
