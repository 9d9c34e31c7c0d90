//! `/api/v1/admin/guardrails/*`: the guard rails for admins: their status and global limits, any
//! user's spending, and per-user overrides of window limits.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use gpuproxy_proto::gpuproxy::auth::v1 as auth;
use gpuproxy_proto::gpuproxy::guardrails::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::money::{dollars, limit_micros};
use crate::operations::Operations;
use crate::rest::envelope::Envelope;
use crate::rest::guardrails::{SpendingDto, spending_dto};
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AdminUser;
use crate::rest::query_params::QueryParams;
use crate::rest::user_lookup::{UserSelector, find_user};
use crate::{AppState, Error};

/// Admin guard-rail routes; the handlers check the role.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(status))
        .routes(routes!(user_spending))
        .routes(routes!(get_limits, set_limits, clear_limits))
}

/// One window's global limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowLimitDto {
    /// `5min` … `1440min`, `48h`, `72h`.
    #[schema(example = "60min")]
    pub window: String,
    /// USD; 0 = none.
    #[schema(example = 50.0)]
    pub limit: f64,
}

/// Whether the guard rails are on, and their global limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuardrailsStatusDto {
    /// `GUARDRAILS_ENABLED`.
    pub enabled: bool,
    /// `GUARDRAILS_MODE`: `enforce` or `shadow`.
    #[schema(example = "enforce")]
    pub mode: String,
    /// `GUARDRAILS_MAX_<W>_RATE` for the 17 windows, shortest first.
    pub limits: Vec<WindowLimitDto>,
    /// `GUARDRAILS_LIMITS_CACHE_TTL`: how long other replicas may use a user's limits after a change.
    #[schema(example = 5.0)]
    pub limits_cache_ttl_seconds: f64,
}

/// One window's limit for a user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserWindowLimitDto {
    /// `5min` … `1440min`, `48h`, `72h`.
    #[schema(example = "60min")]
    pub window: String,
    /// USD the user's checks use; 0 = none.
    #[schema(example = 50.0)]
    pub limit: f64,
    /// `GUARDRAILS_MAX_<W>_RATE`.
    #[schema(example = 100.0)]
    pub global_limit: f64,
    /// Whether an admin set `limit` for this user.
    pub overridden: bool,
}

/// A user's limits in every window.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserLimitsDto {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// The 17 windows, shortest first.
    pub windows: Vec<UserWindowLimitDto>,
}

/// A user's spending, for an admin.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserSpendingDto {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// The spending, as the user sees it.
    #[serde(flatten)]
    pub spending: SpendingDto,
}

/// `PUT /limits`: whose limits, and the windows to override (others keep theirs).
#[derive(Debug, Deserialize, ToSchema)]
pub struct SetLimitsRequest {
    /// The user's id.
    pub user_id: Option<String>,
    /// The user's email.
    #[schema(example = "a@b.c")]
    pub email: Option<String>,
    /// USD per window label; 0 turns the window off for the user.
    #[schema(example = json!({"60min": 50.0, "72h": 500.0}))]
    pub limits: BTreeMap<String, f64>,
}

/// `DELETE /limits`: whose overrides, and optionally which windows.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ClearLimitsQuery {
    /// The user's id.
    pub user_id: Option<String>,
    /// The user's email.
    #[param(example = "a@b.c")]
    pub email: Option<String>,
    /// Comma-separated windows whose overrides to remove (`60min,72h`); all when absent.
    #[param(example = "60min")]
    pub window: Option<String>,
}

fn limits_dto(user: &auth::User, limits: &pb::UserLimits) -> UserLimitsDto {
    UserLimitsDto {
        user_id: user.user_id.clone(),
        email: user.email.clone(),
        windows: limits
            .windows
            .iter()
            .map(|window| UserWindowLimitDto {
                window: window.window.clone(),
                limit: dollars(window.limit_micros),
                global_limit: dollars(window.global_limit_micros),
                overridden: window.overridden,
            })
            .collect(),
    }
}

/// Whether the guard rails are on, their mode and the global limits.
#[utoipa::path(get, path = "/status", tag = "admin", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The guard rails' status", body = Envelope<GuardrailsStatusDto>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
    ))]
async fn status(
    State(operations): State<Operations>,
    AdminUser(_admin): AdminUser,
) -> Result<Json<Envelope<GuardrailsStatusDto>>, Error> {
    let status = operations
        .call(operations.guardrails.clone().get_status(pb::GetStatusRequest {}))
        .await?;
    Ok(Json(Envelope::new(GuardrailsStatusDto {
        enabled: status.enabled,
        mode: status.mode,
        limits: status
            .limits
            .iter()
            .map(|limit| WindowLimitDto {
                window: limit.window.clone(),
                limit: dollars(limit.limit_micros),
            })
            .collect(),
        limits_cache_ttl_seconds: std::time::Duration::from_millis(
            u64::try_from(status.limits_cache_ttl_ms).unwrap_or(0),
        )
        .as_secs_f64(),
    })))
}

/// A user's spending in each of the 17 windows, against that user's limits.
#[utoipa::path(get, path = "/spending", tag = "admin", params(UserSelector),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user's spending", body = Envelope<UserSpendingDto>),
        (status = 400, description = "Neither email nor user_id (VALIDATION_FAILED)", body = ErrorBody),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn user_spending(
    State(operations): State<Operations>,
    AdminUser(_admin): AdminUser,
    QueryParams(selector): QueryParams<UserSelector>,
) -> Result<Json<Envelope<UserSpendingDto>>, Error> {
    let user = find_user(&operations, selector, None).await?;
    let info = operations
        .call(
            operations
                .guardrails
                .clone()
                .get_spending_info(pb::GetSpendingInfoRequest {
                    user_id: user.user_id.clone(),
                }),
        )
        .await?;
    Ok(Json(Envelope::new(UserSpendingDto {
        user_id: user.user_id,
        email: user.email,
        spending: spending_dto(&info),
    })))
}

/// A user's limit in every window: overridden by an admin, or the global one.
#[utoipa::path(get, path = "/limits", tag = "admin", params(UserSelector),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user's limits", body = Envelope<UserLimitsDto>),
        (status = 400, description = "Neither email nor user_id (VALIDATION_FAILED)", body = ErrorBody),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn get_limits(
    State(operations): State<Operations>,
    AdminUser(_admin): AdminUser,
    QueryParams(selector): QueryParams<UserSelector>,
) -> Result<Json<Envelope<UserLimitsDto>>, Error> {
    let user = find_user(&operations, selector, None).await?;
    let limits = operations
        .call(
            operations
                .guardrails
                .clone()
                .get_user_limits(pb::GetUserLimitsRequest {
                    user_id: user.user_id.clone(),
                }),
        )
        .await?;
    Ok(Json(Envelope::new(limits_dto(&user, &limits))))
}

/// Overrides the named windows' limits for a user (0 turns a window off); the other windows keep
/// theirs. Applies at once on the replica that handles it, within `limits_cache_ttl_seconds` elsewhere.
#[utoipa::path(put, path = "/limits", tag = "admin", request_body = SetLimitsRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user's limits after the change", body = Envelope<UserLimitsDto>),
        (status = 400, description = "An unknown window or a negative limit (VALIDATION_FAILED)", body = ErrorBody),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn set_limits(
    State(operations): State<Operations>,
    AdminUser(admin): AdminUser,
    JsonBody(body): JsonBody<SetLimitsRequest>,
) -> Result<Json<Envelope<UserLimitsDto>>, Error> {
    let limits = body
        .limits
        .iter()
        .map(|(window, amount)| {
            Ok(pb::WindowLimit {
                window: window.clone(),
                limit_micros: limit_micros(&format!("limits.{window}"), *amount)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let selector = UserSelector {
        user_id: body.user_id,
        email: body.email,
    };
    let user = find_user(&operations, selector, None).await?;
    tracing::info!(admin = %admin.user_id, user_id = user.user_id, "admin overrides guard-rail limits");
    let updated = operations
        .call(
            operations
                .guardrails
                .clone()
                .set_user_limits(pb::SetUserLimitsRequest {
                    user_id: user.user_id.clone(),
                    limits,
                    set_by: admin.user_id.to_string(),
                }),
        )
        .await?;
    Ok(Json(Envelope::new(limits_dto(&user, &updated))))
}

/// Removes a user's overrides (of every window, or of `window`): those windows use the global limits again.
#[utoipa::path(delete, path = "/limits", tag = "admin", params(ClearLimitsQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user's limits after the change", body = Envelope<UserLimitsDto>),
        (status = 400, description = "An unknown window (VALIDATION_FAILED)", body = ErrorBody),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn clear_limits(
    State(operations): State<Operations>,
    AdminUser(admin): AdminUser,
    QueryParams(query): QueryParams<ClearLimitsQuery>,
) -> Result<Json<Envelope<UserLimitsDto>>, Error> {
    let windows: Vec<String> = query
        .window
        .iter()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|window| !window.is_empty())
        .map(str::to_owned)
        .collect();
    let selector = UserSelector {
        user_id: query.user_id,
        email: query.email,
    };
    let user = find_user(&operations, selector, None).await?;
    tracing::info!(admin = %admin.user_id, user_id = user.user_id, "admin clears guard-rail limits");
    let updated = operations
        .call(
            operations
                .guardrails
                .clone()
                .clear_user_limits(pb::ClearUserLimitsRequest {
                    user_id: user.user_id.clone(),
                    windows,
                }),
        )
        .await?;
    Ok(Json(Envelope::new(limits_dto(&user, &updated))))
}
