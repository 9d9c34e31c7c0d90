//! The caller's auto-renewal: when a debit takes the balance below `CREDITS_LOW_THRESHOLD`, billing
//! charges the payment method of the caller's latest card (or AfterDark) payment for `amount`.

use axum::Json;
use axum::extract::State;
use gpuproxy_proto::gpuproxy::billing::v1 as pb;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::money::positive_micros;
use crate::operations::Operations;
use crate::rest::credits::{CreditsDto, set_settings};
use crate::rest::envelope::Envelope;
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;
use crate::{AppState, Error};

/// The auto-renewal route.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_auto_renew))
}

/// `PUT /api/v1/user/credits/auto-renew`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AutoRenewRequest {
    /// Turns auto-renewal on or off.
    pub enabled: bool,
    /// USD added by each renewal (at least 0.50, whole cents); required the first time it is turned on.
    #[schema(example = 20.0)]
    pub amount: Option<f64>,
}

/// Turns the caller's auto-renewal on or off. Turned on while the balance is already below the
/// low-credit threshold, a renewal is charged at once.
#[utoipa::path(put, path = "/api/v1/user/credits/auto-renew", tag = "billing", request_body = AutoRenewRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The caller's credits after it", body = Envelope<CreditsDto>),
        (status = 400, description = "No amount, or under $0.50 (VALIDATION_FAILED)", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
    ))]
async fn set_auto_renew(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<AutoRenewRequest>,
) -> Result<Json<Envelope<CreditsDto>>, Error> {
    let amount = body
        .amount
        .map(|amount| positive_micros("amount", amount))
        .transpose()?;
    let settings = pb::SetCreditSettingsRequest {
        user_id: user.user_id.to_string(),
        credits_cap_micros: None,
        credits_auto_renew: Some(body.enabled),
        auto_renew_amount_micros: amount,
    };
    Ok(Json(Envelope::new(set_settings(&operations, settings).await?)))
}
