//! `/api/v1/billing/*`: payments (the seed's `X-Billing` and `X-Preferred-Payment` headers),
//! transaction history, and the processors' webhooks.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::billing::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::money::dollars;
use crate::operations::{Operations, PaymentInput, idempotency_key, raw_card_rejected};
use crate::rest::envelope::{DataEnvelope, ListEnvelope};
use crate::rest::principal::AuthUser;
use crate::rest::query_params::QueryParams;
use crate::rest::timestamps::rfc3339;
use crate::{AppState, Error};

/// Payment and transaction routes, for any authenticated user.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(payment))
        .routes(routes!(transactions))
}

/// The processors' webhook routes: no credentials, every call checked by its signature instead.
pub fn webhook_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(webhook))
}

/// `POST /payment`. The processor comes from `provider` or `X-Billing`, the method from
/// `payment_method` or `X-Preferred-Payment`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PaymentRequest {
    /// USD, whole cents, at least 0.50.
    #[schema(example = 50.0)]
    pub amount: f64,
    /// `USD`.
    #[schema(example = "USD")]
    pub currency: Option<String>,
    /// `stripe`, `crypto` or `afterdark`.
    #[schema(example = "stripe")]
    pub provider: Option<String>,
    /// `card:pm_…` (a Stripe PaymentMethod id) or `crypto:network:wallet`; never a card number.
    #[schema(example = "card:pm_card_visa")]
    pub payment_method: Option<String>,
}

/// A payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentDto {
    /// Our id.
    pub payment_id: String,
    /// `pending` (waiting on the payer or the processor's webhook) or `completed`.
    #[schema(example = "completed")]
    pub status: String,
    /// USD.
    pub amount: f64,
    /// `usd`.
    pub currency: String,
    /// `stripe`, `crypto`, `afterdark`.
    pub provider: String,
    /// The processor's id (`pi_…`, the crypto payment id, the AfterDark charge).
    pub provider_reference: String,
    /// Crypto: the address to send `pay_amount` of `pay_currency` to.
    pub pay_to: Option<String>,
    /// Crypto: how much to send.
    pub pay_amount: Option<String>,
    /// Crypto: which coin.
    pub pay_currency: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

fn payment_dto(payment: pb::Payment) -> PaymentDto {
    let optional = |text: String| Some(text).filter(|text| !text.is_empty());
    PaymentDto {
        payment_id: payment.payment_id,
        status: payment.status,
        amount: dollars(payment.amount_micros),
        currency: payment.currency,
        provider: payment.provider,
        provider_reference: payment.provider_reference,
        pay_to: optional(payment.pay_to),
        pay_amount: optional(payment.pay_amount),
        pay_currency: optional(payment.pay_currency),
        created_at: rfc3339(payment.created_at_ms).unwrap_or_default(),
    }
}

/// Refuses a request holding a card number anywhere (header or body) before anything reads it:
/// the message never repeats it, and nothing logs it.
fn refuse_card_numbers(headers: &HeaderMap, body: &[u8]) -> Result<(), Error> {
    let in_headers = headers
        .values()
        .any(|value| gpuproxy_domain::contains_card_number(&String::from_utf8_lossy(value.as_bytes())));
    if in_headers || gpuproxy_domain::contains_card_number(&String::from_utf8_lossy(body)) {
        return Err(raw_card_rejected());
    }
    Ok(())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// Starts a payment that adds credits once it settles: Stripe card payments usually complete at once;
/// crypto payments answer `pending` with an address to pay to and complete on the processor's
/// callback. A repeated `Idempotency-Key` returns the first payment and never charges twice.
#[utoipa::path(post, path = "/payment", tag = "billing", request_body = PaymentRequest,
    security(("bearer" = []), ("api_key" = [])),
    params(
        ("X-Billing" = Option<String>, Header, description = "Stripe, Crypto or AfterDark"),
        ("X-Preferred-Payment" = Option<String>, Header, description = "card:pm_… or crypto:network:wallet"),
        ("Idempotency-Key" = Option<String>, Header, description = "One payment per key"),
    ),
    responses(
        (status = 200, description = "The payment", body = DataEnvelope<PaymentDto>),
        (status = 400, description = "A card number (RAW_CARD_REJECTED) or a bad field (VALIDATION_FAILED)", body = ErrorBody),
        (status = 402, description = "Declined (PAYMENT_DECLINED); nothing was credited", body = ErrorBody),
        (status = 409, description = "The key was used for another payment (IDEMPOTENCY_CONFLICT)", body = ErrorBody),
        (status = 502, description = "The processor could not be reached (PROVIDER_UNAVAILABLE); retry with the same key", body = ErrorBody),
    ))]
async fn payment(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<DataEnvelope<PaymentDto>>, Error> {
    refuse_card_numbers(&headers, &body)?;
    let request: PaymentRequest = crate::rest::json_body::parse(&headers, &body)?;
    let provider = match (request.provider.as_deref(), header(&headers, "x-billing")) {
        (Some(body), Some(header)) if !body.eq_ignore_ascii_case(header) => {
            return Err(Error::new(
                ErrorCode::ValidationFailed,
                "provider and X-Billing name different processors",
            )
            .with_field("provider"));
        }
        (Some(provider), _) | (None, Some(provider)) => provider.to_owned(),
        (None, None) => {
            return Err(
                Error::new(ErrorCode::ValidationFailed, "provider (or X-Billing) is required")
                    .with_field("provider"),
            );
        }
    };
    let payment_method = request
        .payment_method
        .or_else(|| header(&headers, "x-preferred-payment").map(str::to_owned))
        .unwrap_or_default();
    let input = PaymentInput {
        amount: request.amount,
        currency: request.currency.unwrap_or_default(),
        provider,
        payment_method,
        idempotency_key: idempotency_key(&headers)?,
    };
    let payment = operations.create_payment(&user, input).await?;
    Ok(Json(DataEnvelope::new(payment_dto(payment))))
}

/// `limit` and `offset`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct Page {
    /// At most this many (default 50, at most 1000).
    pub limit: Option<i32>,
    /// Skip this many.
    pub offset: Option<i32>,
}

/// One payment in the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransactionDto {
    /// The payment id.
    pub id: String,
    /// `payment`.
    #[serde(rename = "type")]
    pub kind: String,
    /// USD.
    pub amount: f64,
    /// `usd`.
    pub currency: String,
    /// `pending`, `completed` or `failed`.
    pub status: String,
    /// What it was, and why it failed.
    pub description: String,
    /// The processor.
    pub provider: String,
    /// RFC 3339.
    pub timestamp: String,
}

/// The caller's payments, newest first.
#[utoipa::path(get, path = "/transactions", tag = "billing", params(Page),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Payments", body = ListEnvelope<TransactionDto>),
        (status = 400, description = "A bad limit or offset (VALIDATION_FAILED)", body = ErrorBody),
    ))]
async fn transactions(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    QueryParams(page): QueryParams<Page>,
) -> Result<Json<ListEnvelope<TransactionDto>>, Error> {
    let listed = operations
        .transactions(&user, page.limit.unwrap_or(0), page.offset.unwrap_or(0))
        .await?;
    Ok(Json(ListEnvelope::new(
        listed.transactions.into_iter().map(transaction_dto).collect(),
    )))
}

/// Converts the service's transaction.
pub(super) fn transaction_dto(transaction: pb::Transaction) -> TransactionDto {
    TransactionDto {
        id: transaction.transaction_id,
        kind: transaction.r#type,
        amount: dollars(transaction.amount_micros),
        currency: transaction.currency,
        status: transaction.status,
        description: transaction.description,
        provider: transaction.provider,
        timestamp: rfc3339(transaction.created_at_ms).unwrap_or_default(),
    }
}

/// What a webhook did.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    /// Always true: the processor need not send it again.
    pub received: bool,
    /// `settled`, `failed`, `pending` or `duplicate`.
    pub outcome: String,
}

/// A processor's webhook: `stripe` (verified by `Stripe-Signature`, 300 s tolerance, replays
/// refused) or `crypto` (verified by `x-nowpayments-sig`, then confirmed with the processor).
#[utoipa::path(post, path = "/webhooks/{provider}", tag = "billing",
    request_body(content = String, description = "The processor's event, exactly as sent", content_type = "application/json"),
    params(("provider" = String, Path, description = "stripe or crypto")),
    responses(
        (status = 200, description = "Handled (or seen before)", body = WebhookDto),
        (status = 400, description = "A bad or stale signature (INVALID_SIGNATURE); nothing changed", body = ErrorBody),
    ))]
async fn webhook(
    State(operations): State<Operations>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookDto>, Error> {
    let signature_header = match provider.as_str() {
        "stripe" => "stripe-signature",
        "crypto" => "x-nowpayments-sig",
        _ => {
            return Err(Error::new(
                ErrorCode::NotFound,
                "webhooks come from stripe or crypto",
            ));
        }
    };
    let handled = operations
        .call(
            operations
                .billing
                .clone()
                .handle_webhook(pb::HandleWebhookRequest {
                    provider,
                    signature: header(&headers, signature_header).unwrap_or_default().to_owned(),
                    body: body.to_vec(),
                }),
        )
        .await?;
    Ok(Json(WebhookDto {
        received: true,
        outcome: handled.outcome,
    }))
}
