//! Credits (seed `001`'s credit system): the caller's balance, credit history and usage, and the
//! admin routes that grant credits and set caps. Paths are absolute: the routes live under both
//! `/api/v1/user` and `/api/v1/admin`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use gpuproxy_proto::gpuproxy::billing::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::money::{dollars, positive_micros};
use crate::operations::Operations;
use crate::operations::idempotency_key;
use crate::rest::envelope::{Envelope, ListEnvelope};
use crate::rest::json_body::JsonBody;
use crate::rest::principal::{AdminUser, AuthUser};
use crate::rest::query_params::QueryParams;
use crate::rest::timestamps::rfc3339;
use crate::rest::user_lookup::{UserSelector, find_user};
use crate::{AppState, Error};

/// The credit routes; the admin ones check the role.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(credits))
        .routes(routes!(history))
        .routes(routes!(usage))
        .routes(routes!(add_credits))
        .routes(routes!(settings))
        .routes(routes!(user_credits))
        .routes(routes!(user_usage))
}

/// A user's credits, in USD.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsDto {
    /// The user.
    pub user_id: String,
    /// Available credits: the balance when positive.
    #[schema(example = 42.5)]
    pub credits_remaining: f64,
    /// Everything ever credited (payments, admin credits).
    pub credits_total: f64,
    /// Usage beyond the credits: the balance below zero.
    pub credits_overage: f64,
    /// The most overage allowed; at the cap, new spending is refused (402 `CREDITS_EXHAUSTED`).
    pub credits_cap: f64,
    /// Automatic renewal: a debit that takes the balance below the low-credit threshold charges the
    /// saved payment method `auto_renew_amount`.
    pub credits_auto_renew: bool,
    /// USD added by each renewal.
    pub auto_renew_amount: f64,
    /// Set aside for GPUs being rented (an hour of each, until metering uses it): new spending may
    /// use the balance less this.
    pub credits_held: f64,
    /// The balance: the sum of every credit-history entry.
    pub balance: f64,
}

/// Converts the service's credits.
pub fn credits_dto(credits: &pb::Credits) -> CreditsDto {
    CreditsDto {
        user_id: credits.user_id.clone(),
        credits_remaining: dollars(credits.credits_remaining_micros),
        credits_total: dollars(credits.credits_total_micros),
        credits_overage: dollars(credits.credits_overage_micros),
        credits_cap: dollars(credits.credits_cap_micros),
        credits_auto_renew: credits.credits_auto_renew,
        auto_renew_amount: dollars(credits.auto_renew_amount_micros),
        credits_held: dollars(credits.held_micros),
        balance: dollars(credits.balance_micros),
    }
}

/// One entry of the credit history.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditEntryDto {
    /// The entry.
    pub id: String,
    /// `payment`, `admin_credit`, `usage`.
    pub kind: String,
    /// USD: positive credits, negative debits.
    pub amount: f64,
    /// The balance after it.
    pub balance_after: f64,
    /// The payment, usage record or reason.
    pub reference: String,
    /// What it was.
    pub description: String,
    /// RFC 3339.
    pub created_at: String,
}

/// One usage record: who spent what, from where, when and for how long.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageDto {
    /// The record.
    pub id: String,
    /// `instance` (metered run time) or `request`.
    pub kind: String,
    /// The client that caused it.
    pub client_id: String,
    /// Its address.
    pub client_ip: String,
    /// The instance metered, if any.
    pub instance_id: String,
    /// RFC 3339.
    pub started_at: String,
    /// Milliseconds.
    pub duration_ms: i64,
    /// USD.
    pub cost: f64,
    /// What it was.
    pub description: String,
}

/// A page of usage with its totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsagePageDto {
    /// The records, newest first.
    pub usage: Vec<UsageDto>,
    /// All the user's records.
    pub total_count: i32,
    /// USD, all records.
    pub total_cost: f64,
}

/// `limit`, `offset`, and for admins whose (`email` or `user_id`).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct Selector {
    /// The user's email (admin routes).
    pub email: Option<String>,
    /// The user's id (admin routes).
    pub user_id: Option<String>,
    /// At most this many (default 50, at most 1000).
    pub limit: Option<i32>,
    /// Skip this many.
    pub offset: Option<i32>,
}

/// Resolves the user an admin route names.
async fn user_named(
    operations: &Operations,
    user_id: Option<String>,
    email: Option<String>,
) -> Result<String, Error> {
    Ok(find_user(operations, UserSelector { user_id, email }, None)
        .await?
        .user_id)
}

async fn credits_of(operations: &Operations, user_id: String) -> Result<CreditsDto, Error> {
    let credits = operations
        .call(
            operations
                .billing
                .clone()
                .get_credits(pb::GetCreditsRequest { user_id }),
        )
        .await?;
    Ok(credits_dto(&credits))
}

/// Changes a user's credit settings (unset fields stay) and returns their credits after it.
pub(crate) async fn set_settings(
    operations: &Operations,
    settings: pb::SetCreditSettingsRequest,
) -> Result<CreditsDto, Error> {
    let credits = operations
        .call(operations.billing.clone().set_credit_settings(settings))
        .await?;
    Ok(credits_dto(&credits))
}

async fn usage_of(
    operations: &Operations,
    user_id: String,
    selector: &Selector,
) -> Result<UsagePageDto, Error> {
    let listed = operations
        .call(operations.billing.clone().list_usage(pb::ListUsageRequest {
            user_id,
            limit: selector.limit.unwrap_or(0),
            offset: selector.offset.unwrap_or(0),
        }))
        .await?;
    Ok(UsagePageDto {
        usage: listed.usage.into_iter().map(usage_dto).collect(),
        total_count: listed.total_count,
        total_cost: dollars(listed.total_cost_micros),
    })
}

/// The caller's credits.
#[utoipa::path(get, path = "/api/v1/user/credits", tag = "billing", security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Credits in USD", body = Envelope<CreditsDto>),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn credits(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
) -> Result<Json<Envelope<CreditsDto>>, Error> {
    Ok(Json(Envelope::new(
        credits_of(&operations, user.user_id.to_string()).await?,
    )))
}

/// The caller's credit history, newest first: every entry whose sum is the balance.
#[utoipa::path(get, path = "/api/v1/user/credits/history", tag = "billing", params(Selector),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Entries", body = ListEnvelope<CreditEntryDto>),
    ))]
async fn history(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    QueryParams(selector): QueryParams<Selector>,
) -> Result<Json<ListEnvelope<CreditEntryDto>>, Error> {
    let listed = operations
        .call(
            operations
                .billing
                .clone()
                .list_credit_entries(pb::ListCreditEntriesRequest {
                    user_id: user.user_id.to_string(),
                    limit: selector.limit.unwrap_or(0),
                    offset: selector.offset.unwrap_or(0),
                }),
        )
        .await?;
    Ok(Json(ListEnvelope::new(
        listed.entries.into_iter().map(credit_entry_dto).collect(),
    )))
}

/// Converts the service's usage record.
pub(super) fn usage_dto(usage: pb::UsageRecord) -> UsageDto {
    UsageDto {
        id: usage.usage_id,
        kind: usage.kind,
        client_id: usage.client_id,
        client_ip: usage.client_ip,
        instance_id: usage.instance_id,
        started_at: rfc3339(usage.started_at_ms).unwrap_or_default(),
        duration_ms: usage.duration_ms,
        cost: dollars(usage.cost_micros),
        description: usage.description,
    }
}

/// Converts the service's credit entry.
pub(super) fn credit_entry_dto(entry: pb::CreditEntry) -> CreditEntryDto {
    CreditEntryDto {
        id: entry.entry_id,
        kind: entry.kind,
        amount: dollars(entry.amount_micros),
        balance_after: dollars(entry.balance_after_micros),
        reference: entry.reference,
        description: entry.description,
        created_at: rfc3339(entry.created_at_ms).unwrap_or_default(),
    }
}

/// The caller's usage records (client, IP, start, duration, cost), newest first.
#[utoipa::path(get, path = "/api/v1/user/usage", tag = "billing", params(Selector),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "Usage", body = Envelope<UsagePageDto>)))]
async fn usage(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    QueryParams(selector): QueryParams<Selector>,
) -> Result<Json<Envelope<UsagePageDto>>, Error> {
    Ok(Json(Envelope::new(
        usage_of(&operations, user.user_id.to_string(), &selector).await?,
    )))
}

/// `POST /api/v1/admin/credits/add`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AddCreditsRequest {
    /// The user's id.
    pub user_id: Option<String>,
    /// Or the user's email.
    pub email: Option<String>,
    /// USD to credit.
    #[schema(example = 100.0)]
    pub amount: f64,
    /// Shown in the credit history.
    pub reason: Option<String>,
}

/// Credits a user (admins only); an `Idempotency-Key` credits once.
#[utoipa::path(post, path = "/api/v1/admin/credits/add", tag = "admin", request_body = AddCreditsRequest,
    security(("bearer" = []), ("api_key" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "One credit per key")),
    responses(
        (status = 200, description = "The user's credits after it", body = Envelope<CreditsDto>),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn add_credits(
    State(operations): State<Operations>,
    AdminUser(admin): AdminUser,
    headers: HeaderMap,
    JsonBody(body): JsonBody<AddCreditsRequest>,
) -> Result<Json<Envelope<CreditsDto>>, Error> {
    let amount_micros = positive_micros("amount", body.amount)?;
    let user_id = user_named(&operations, body.user_id, body.email).await?;
    tracing::info!(admin = %admin.user_id, user_id, amount_micros, "admin adds credits");
    let credits = operations
        .call(
            operations.billing.clone().add_credits(pb::AddCreditsRequest {
                user_id,
                amount_micros,
                reason: body
                    .reason
                    .unwrap_or_else(|| format!("added by admin {}", admin.email)),
                idempotency_key: idempotency_key(&headers)?,
            }),
        )
        .await?;
    Ok(Json(Envelope::new(credits_dto(&credits))))
}

/// `PUT /api/v1/admin/credits/settings`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SettingsRequest {
    /// The user's id.
    pub user_id: Option<String>,
    /// Or the user's email.
    pub email: Option<String>,
    /// USD of overage allowed (0 = none).
    pub credits_cap: Option<f64>,
    /// Automatic renewal.
    pub credits_auto_renew: Option<bool>,
    /// USD added by each renewal (at least 0.50).
    pub auto_renew_amount: Option<f64>,
}

/// Sets a user's overage cap and auto-renewal (admins only).
#[utoipa::path(put, path = "/api/v1/admin/credits/settings", tag = "admin", request_body = SettingsRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The user's credits after it", body = Envelope<CreditsDto>),
        (status = 400, description = "A negative cap (VALIDATION_FAILED)", body = ErrorBody),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn settings(
    State(operations): State<Operations>,
    AdminUser(admin): AdminUser,
    JsonBody(body): JsonBody<SettingsRequest>,
) -> Result<Json<Envelope<CreditsDto>>, Error> {
    let cap = match body.credits_cap {
        Some(0.0) => Some(0),
        Some(cap) => Some(positive_micros("credits_cap", cap)?),
        None => None,
    };
    let auto_renew_amount = body
        .auto_renew_amount
        .map(|amount| positive_micros("auto_renew_amount", amount))
        .transpose()?;
    let user_id = user_named(&operations, body.user_id, body.email).await?;
    tracing::info!(admin = %admin.user_id, user_id, "admin sets credit settings");
    let settings = pb::SetCreditSettingsRequest {
        user_id,
        credits_cap_micros: cap,
        credits_auto_renew: body.credits_auto_renew,
        auto_renew_amount_micros: auto_renew_amount,
    };
    Ok(Json(Envelope::new(set_settings(&operations, settings).await?)))
}

/// A user's credits (admins only).
#[utoipa::path(get, path = "/api/v1/admin/credits", tag = "admin", params(Selector),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Credits in USD", body = Envelope<CreditsDto>),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn user_credits(
    State(operations): State<Operations>,
    AdminUser(_admin): AdminUser,
    QueryParams(selector): QueryParams<Selector>,
) -> Result<Json<Envelope<CreditsDto>>, Error> {
    let user_id = user_named(&operations, selector.user_id, selector.email).await?;
    Ok(Json(Envelope::new(credits_of(&operations, user_id).await?)))
}

/// A user's usage records (admins only; `aiserve-gpuproxy-admin usage EMAIL`).
#[utoipa::path(get, path = "/api/v1/admin/usage", tag = "admin", params(Selector),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Usage", body = Envelope<UsagePageDto>),
        (status = 403, description = "Not an admin (FORBIDDEN)", body = ErrorBody),
        (status = 404, description = "No such user (NOT_FOUND)", body = ErrorBody),
    ))]
async fn user_usage(
    State(operations): State<Operations>,
    AdminUser(_admin): AdminUser,
    QueryParams(selector): QueryParams<Selector>,
) -> Result<Json<Envelope<UsagePageDto>>, Error> {
    let user_id = user_named(&operations, selector.user_id.clone(), selector.email.clone()).await?;
    Ok(Json(Envelope::new(
        usage_of(&operations, user_id, &selector).await?,
    )))
}
