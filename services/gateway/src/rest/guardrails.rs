//! `/api/v1/guardrails/spending*`: the caller's spending over the 17 windows, checks before spending,
//! recording, and (for admins) resets.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::guardrails::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::money::{dollars, positive_micros};
use crate::operations::{Operations, checked_key, idempotency_key};
use crate::rest::envelope::Envelope;
use crate::rest::json_body::JsonBody;
use crate::rest::principal::{AdminUser, AuthUser};
use crate::rest::user_lookup::{UserSelector, find_user};
use crate::{AppState, Error};

/// Guard-rail routes for any authenticated user; `reset` checks the admin role.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(spending))
        .routes(routes!(check))
        .routes(routes!(record))
        .routes(routes!(reset))
}

/// One window.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpendingWindowDto {
    /// `5min` … `1440min`, `48h`, `72h`.
    #[schema(example = "60min")]
    pub window: String,
    /// USD spent in the window, ending now.
    #[schema(example = 45.0)]
    pub spent: f64,
    /// USD limit; 0 = none.
    #[schema(example = 50.0)]
    pub limit: f64,
    /// USD left before the limit.
    #[schema(example = 5.0)]
    pub remaining: f64,
    /// At or past the limit.
    pub exceeded: bool,
}

/// Spending in every window.
#[derive(Debug, Serialize, ToSchema)]
pub struct SpendingDto {
    /// `GUARDRAILS_ENABLED`.
    pub guard_rails_enabled: bool,
    /// The 17 windows, shortest first.
    pub windows: Vec<SpendingWindowDto>,
    /// USD spent in the last 24 hours.
    pub total_spent_24h: f64,
}

/// The answer to a check.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckDto {
    /// Whether the cost may be spent now.
    pub allowed: bool,
    /// One line per window the cost would pass, e.g. `60min: $45.00 + $25.00 = $70.00 > $50.00 limit`.
    pub violations: Vec<String>,
    /// Those windows as they stand.
    pub would_exceed: Vec<SpendingWindowDto>,
}

/// `POST /spending/check`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckRequest {
    /// USD the caller is about to spend.
    #[schema(example = 25.0)]
    pub estimated_cost: f64,
}

/// `POST /spending/record`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RecordRequest {
    /// USD spent.
    #[schema(example = 12.5)]
    pub amount: f64,
    /// Makes a retried record count once (the `Idempotency-Key` header works too).
    pub idempotency_key: Option<String>,
}

/// `POST /spending/reset`: whose spending, by id or email (default: the admin's own), and which window.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ResetRequest {
    /// The user's id.
    pub user_id: Option<String>,
    /// The user's email.
    pub email: Option<String>,
    /// One window (`60min`) to reset, leaving the others as they are; every window when absent.
    #[schema(example = "60min")]
    pub window: Option<String>,
}

fn window(window: &pb::SpendingWindow) -> SpendingWindowDto {
    SpendingWindowDto {
        window: window.window.clone(),
        spent: dollars(window.spent_micros),
        limit: dollars(window.limit_micros),
        remaining: dollars(window.remaining_micros),
        exceeded: window.exceeded,
    }
}

/// Converts the service's spending to its REST form.
pub fn spending_dto(info: &pb::SpendingInfo) -> SpendingDto {
    SpendingDto {
        guard_rails_enabled: info.guard_rails_enabled,
        windows: info.windows.iter().map(window).collect(),
        total_spent_24h: dollars(info.total_spent_24h_micros),
    }
}

/// `X-GuardRails-Enabled`, `X-GuardRails-<window>: spent/limit` for each window with a limit, and
/// `X-GuardRails-Exceeded` naming `exceeded` windows.
fn headers(info: &pb::SpendingInfo, exceeded: &[&pb::SpendingWindow]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-guardrails-enabled"),
        HeaderValue::from_static(if info.guard_rails_enabled { "true" } else { "false" }),
    );
    for window in info.windows.iter().filter(|window| window.limit_micros > 0) {
        let name = format!("x-guardrails-{}", window.window);
        let value = format!(
            "{:.2}/{:.2}",
            dollars(window.spent_micros),
            dollars(window.limit_micros)
        );
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.insert(name, value);
        }
    }
    let names: Vec<&str> = exceeded.iter().map(|window| window.window.as_str()).collect();
    if !names.is_empty()
        && let Ok(value) = HeaderValue::try_from(names.join(","))
    {
        headers.insert(HeaderName::from_static("x-guardrails-exceeded"), value);
    }
    headers
}

/// The caller's spending in each of the 17 windows.
#[utoipa::path(get, path = "/spending", tag = "guardrails", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Spending per window, with X-GuardRails-* headers", body = Envelope<SpendingDto>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn spending(State(operations): State<Operations>, AuthUser(user): AuthUser) -> Result<Response, Error> {
    let info = operations.spending_info(&user).await?;
    let exceeded: Vec<&pb::SpendingWindow> = info.windows.iter().filter(|window| window.exceeded).collect();
    let headers = headers(&info, &exceeded);
    Ok((headers, Json(Envelope::new(spending_dto(&info)))).into_response())
}

/// Says whether `estimated_cost` may be spent now, without counting it: 200 when it fits, 402
/// `SPENDING_LIMIT_EXCEEDED` with `violations` when a window would pass its limit.
#[utoipa::path(post, path = "/spending/check", tag = "guardrails", request_body = CheckRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Allowed", body = Envelope<CheckDto>),
        (status = 400, description = "Not a positive amount (VALIDATION_FAILED)", body = ErrorBody),
        (status = 402, description = "A window would pass its limit (SPENDING_LIMIT_EXCEEDED)", body = CheckDto),
    ))]
async fn check(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<CheckRequest>,
) -> Result<Response, Error> {
    let checked = operations
        .check_spending(&user, "estimated_cost", body.estimated_cost)
        .await?;
    let info = checked.spending.clone().unwrap_or_default();
    let would_exceed: Vec<&pb::SpendingWindow> = checked.would_exceed.iter().collect();
    let headers = headers(&info, &would_exceed);
    let dto = CheckDto {
        allowed: checked.allowed,
        violations: if checked.reason.is_empty() {
            Vec::new()
        } else {
            checked.reason.split("; ").map(str::to_owned).collect()
        },
        would_exceed: checked.would_exceed.iter().map(window).collect(),
    };
    if checked.allowed {
        return Ok((headers, Json(Envelope::new(dto))).into_response());
    }
    let body = serde_json::json!({
        "error": format!("spending limit exceeded: {}", checked.reason),
        "code": ErrorCode::SpendingLimitExceeded.as_str(),
        "allowed": false,
        "violations": dto.violations,
        "would_exceed": dto.would_exceed,
    });
    let mut response = (StatusCode::PAYMENT_REQUIRED, headers, Json(body)).into_response();
    response.extensions_mut().insert(ErrorCode::SpendingLimitExceeded);
    Ok(response)
}

/// Counts `amount` as spent by the caller, whatever the limits (it already happened).
#[utoipa::path(post, path = "/spending/record", tag = "guardrails", request_body = RecordRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Spending after the record", body = Envelope<SpendingDto>),
        (status = 400, description = "Not a positive amount (VALIDATION_FAILED)", body = ErrorBody),
    ))]
async fn record(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    request_headers: HeaderMap,
    JsonBody(body): JsonBody<RecordRequest>,
) -> Result<Response, Error> {
    let amount_micros = positive_micros("amount", body.amount)?;
    let idempotency_key = match body.idempotency_key {
        Some(key) => checked_key(&key)?,
        None => idempotency_key(&request_headers)?,
    };
    let info = operations
        .call(
            operations
                .guardrails
                .clone()
                .record_spending(pb::RecordSpendingRequest {
                    user_id: user.user_id.to_string(),
                    amount_micros,
                    idempotency_key,
                }),
        )
        .await?;
    let exceeded: Vec<&pb::SpendingWindow> = info.windows.iter().filter(|window| window.exceeded).collect();
    let headers = headers(&info, &exceeded);
    Ok((headers, Json(Envelope::new(spending_dto(&info)))).into_response())
}

/// Forgets a user's spending in every window, or in `window` alone (admins only).
#[utoipa::path(post, path = "/spending/reset", tag = "guardrails", request_body = ResetRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user's spending after the reset", body = Envelope<SpendingDto>),
        (status = 400, description = "Not one of the 17 windows (VALIDATION_FAILED)", body = ErrorBody),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn reset(
    State(operations): State<Operations>,
    AdminUser(admin): AdminUser,
    JsonBody(body): JsonBody<ResetRequest>,
) -> Result<Json<Envelope<SpendingDto>>, Error> {
    let selector = UserSelector {
        user_id: body.user_id,
        email: body.email,
    };
    let user = find_user(&operations, selector, Some(admin.user_id.to_string())).await?;
    let window = body.window.unwrap_or_default();
    tracing::info!(admin = %admin.user_id, user_id = user.user_id, window, "admin resets guard-rail spending");
    let info = operations
        .call(operations.guardrails.clone().reset(pb::ResetRequest {
            user_id: user.user_id,
            window,
        }))
        .await?;
    Ok(Json(Envelope::new(spending_dto(&info))))
}
