//! Webhooks (seed `002`): subscribe a URL to events, list and delete subscriptions, read each
//! one's delivery log and send a dead-lettered delivery again. Deliveries are signed with the
//! subscription's secret (see the README for how receivers verify them).

use axum::Json;
use axum::extract::{Path, State};
use gpuproxy_proto::gpuproxy::webhooks::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ErrorBody;
use crate::operations::Operations;
use crate::rest::envelope::{Envelope, ListEnvelope};
use crate::rest::json_body::JsonBody;
use crate::rest::principal::AuthUser;
use crate::rest::query_params::QueryParams;
use crate::rest::timestamps::rfc3339;
use crate::{AppState, Error};

/// The webhook routes; paths are absolute.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(create_billing))
        .routes(routes!(get, delete))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// `POST /api/v1/webhooks` and `POST /api/v1/webhooks/billing`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhookRequest {
    /// Where events are POSTed; must resolve to a public address (or an operator allow-listed host).
    #[schema(example = "https://your-system.com/webhook")]
    pub url: String,
    /// Event names or NATS-style patterns (`instance.*`, `payment.>`); omitted: every event
    /// (billing webhooks: every billing event). `payment.success` means `payment.completed`.
    #[serde(default)]
    #[schema(example = json!(["instance.created", "instance.destroyed", "payment.completed"]))]
    pub events: Vec<String>,
    /// Signs every delivery (16–256 characters); omitted: one is made and returned once.
    #[serde(default)]
    pub secret: Option<String>,
    /// Admins only: receive every user's events.
    #[serde(default)]
    pub all_users: bool,
    /// A note.
    #[serde(default)]
    pub description: Option<String>,
}

/// A subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    /// Its id.
    pub id: String,
    /// Where events go.
    pub url: String,
    /// What it receives.
    pub events: Vec<String>,
    /// `all` or `billing`.
    pub kind: String,
    /// Every user's events (admins).
    pub all_users: bool,
    /// The note.
    pub description: String,
    /// The signing secret: in the answer to the create only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Deliveries that succeeded.
    pub delivered: i64,
    /// Deliveries waiting or being retried.
    pub pending: i64,
    /// Deliveries dead-lettered.
    pub dead: i64,
}

/// One delivery of one event to one subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    /// Its id (the `X-GPUProxy-Delivery` header).
    pub id: String,
    /// The event's id (in the body and `X-GPUProxy-Event-Id`): deduplicate on it.
    pub event_id: String,
    /// The event's name.
    pub event: String,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// The receiver's last HTTP status (0: it never answered).
    pub last_status: i32,
    /// Why the last attempt failed.
    pub last_error: String,
    /// RFC 3339.
    pub created_at: String,
    /// When the next attempt starts (pending).
    pub next_attempt_at: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<String>,
}

/// `GET …/deliveries` filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `dead`.
    pub status: Option<String>,
    /// At most this many (default 50, at most 500).
    pub limit: Option<i32>,
    /// Skip this many.
    pub offset: Option<i32>,
}

/// A page of the delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPageDto {
    /// Newest first.
    pub deliveries: Vec<DeliveryDto>,
    /// All deliveries matching the filter.
    pub total: i64,
}

fn webhook_dto(subscription: pb::Subscription) -> WebhookDto {
    WebhookDto {
        id: subscription.id,
        url: subscription.url,
        events: subscription.events,
        kind: subscription.kind,
        all_users: subscription.all_users,
        description: subscription.description,
        secret: Some(subscription.secret).filter(|secret| !secret.is_empty()),
        created_at: rfc3339(subscription.created_at_ms).unwrap_or_default(),
        delivered: subscription.delivered,
        pending: subscription.pending,
        dead: subscription.dead,
    }
}

fn delivery_dto(delivery: pb::Delivery) -> DeliveryDto {
    let pending = delivery.status == "pending";
    DeliveryDto {
        id: delivery.id,
        event_id: delivery.event_id,
        event: delivery.event,
        status: delivery.status,
        attempts: delivery.attempts,
        last_status: delivery.last_status,
        last_error: delivery.last_error,
        created_at: rfc3339(delivery.created_at_ms).unwrap_or_default(),
        next_attempt_at: rfc3339(delivery.next_attempt_at_ms).filter(|_| pending),
        delivered_at: rfc3339(delivery.delivered_at_ms).filter(|_| delivery.delivered_at_ms > 0),
    }
}

async fn subscribe(
    operations: &Operations,
    user: &gpuproxy_domain::Principal,
    kind: &str,
    body: CreateWebhookRequest,
) -> Result<WebhookDto, Error> {
    let subscription = operations
        .call(
            operations
                .webhooks
                .clone()
                .create_subscription(pb::CreateSubscriptionRequest {
                    user_id: user.user_id.to_string(),
                    is_admin: user.is_admin,
                    url: body.url,
                    events: body.events,
                    secret: body.secret.unwrap_or_default(),
                    kind: kind.to_owned(),
                    all_users: body.all_users,
                    description: body.description.unwrap_or_default(),
                }),
        )
        .await?;
    Ok(webhook_dto(subscription))
}

/// Subscribes a URL to events; the answer shows the secret, which no later call does.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = CreateWebhookRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Subscribed", body = Envelope<WebhookDto>),
        (status = 400, description = "An unknown event (UNKNOWN_EVENT), a bad URL or secret (VALIDATION_FAILED)", body = ErrorBody),
        (status = 403, description = "A private, loopback or link-local URL (TARGET_FORBIDDEN); all_users without the admin role (FORBIDDEN)", body = ErrorBody),
    ))]
async fn create(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<CreateWebhookRequest>,
) -> Result<Json<Envelope<WebhookDto>>, Error> {
    Ok(Json(Envelope::new(
        subscribe(&operations, &user, "all", body).await?,
    )))
}

/// Subscribes a URL to billing events only (`payment.completed`, `payment.failed`, `credits.low`,
/// `subscription.renewed`).
#[utoipa::path(post, path = "/api/v1/webhooks/billing", tag = "webhooks", request_body = CreateWebhookRequest,
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Subscribed", body = Envelope<WebhookDto>),
        (status = 400, description = "A name that is no billing event (UNKNOWN_EVENT)", body = ErrorBody),
        (status = 403, description = "A non-public URL (TARGET_FORBIDDEN)", body = ErrorBody),
    ))]
async fn create_billing(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    JsonBody(body): JsonBody<CreateWebhookRequest>,
) -> Result<Json<Envelope<WebhookDto>>, Error> {
    Ok(Json(Envelope::new(
        subscribe(&operations, &user, "billing", body).await?,
    )))
}

/// The caller's subscriptions, with delivery counts.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, description = "Subscriptions", body = ListEnvelope<WebhookDto>)))]
async fn list(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
) -> Result<Json<ListEnvelope<WebhookDto>>, Error> {
    let listed = operations
        .call(
            operations
                .webhooks
                .clone()
                .list_subscriptions(pb::ListSubscriptionsRequest {
                    user_id: user.user_id.to_string(),
                }),
        )
        .await?;
    Ok(Json(ListEnvelope::new(
        listed.subscriptions.into_iter().map(webhook_dto).collect(),
    )))
}

/// One of the caller's subscriptions; another user's answers 404.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "The subscription", body = Envelope<WebhookDto>),
        (status = 404, description = "No such subscription of the caller (NOT_FOUND)", body = ErrorBody),
    ))]
async fn get(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Envelope<WebhookDto>>, Error> {
    let subscription = operations
        .call(
            operations
                .webhooks
                .clone()
                .get_subscription(pb::GetSubscriptionRequest {
                    user_id: user.user_id.to_string(),
                    id,
                }),
        )
        .await?;
    Ok(Json(Envelope::new(webhook_dto(subscription))))
}

/// What a delete answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedDto {
    /// The subscription.
    pub id: String,
    /// Always true.
    pub deleted: bool,
}

/// Deletes a subscription and its pending deliveries.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Deleted", body = Envelope<DeletedDto>),
        (status = 404, description = "No such subscription of the caller (NOT_FOUND)", body = ErrorBody),
    ))]
async fn delete(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Envelope<DeletedDto>>, Error> {
    operations
        .call(
            operations
                .webhooks
                .clone()
                .delete_subscription(pb::DeleteSubscriptionRequest {
                    user_id: user.user_id.to_string(),
                    id: id.clone(),
                }),
        )
        .await?;
    Ok(Json(Envelope::new(DeletedDto { id, deleted: true })))
}

/// The subscription's delivery log, newest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveryQuery), security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Deliveries", body = Envelope<DeliveryPageDto>),
        (status = 400, description = "An unknown status or a bad page (VALIDATION_FAILED)", body = ErrorBody),
        (status = 404, description = "No such subscription of the caller (NOT_FOUND)", body = ErrorBody),
    ))]
async fn deliveries(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    QueryParams(query): QueryParams<DeliveryQuery>,
) -> Result<Json<Envelope<DeliveryPageDto>>, Error> {
    let page = operations
        .call(
            operations
                .webhooks
                .clone()
                .list_deliveries(pb::ListDeliveriesRequest {
                    user_id: user.user_id.to_string(),
                    subscription_id: id,
                    status: query.status.unwrap_or_default(),
                    limit: query.limit.unwrap_or(0),
                    offset: query.offset.unwrap_or(0),
                }),
        )
        .await?;
    Ok(Json(Envelope::new(DeliveryPageDto {
        deliveries: page.deliveries.into_iter().map(delivery_dto).collect(),
        total: page.total,
    })))
}

/// Sends a dead-lettered delivery again, from attempt one.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)), security(("bearer" = []), ("api_key" = [])),
    responses(
        (status = 200, description = "Queued again", body = crate::rest::envelope::DataEnvelope<DeliveryDto>),
        (status = 404, description = "No such dead-lettered delivery (NOT_FOUND)", body = ErrorBody),
    ))]
async fn redeliver(
    State(operations): State<Operations>,
    AuthUser(user): AuthUser,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Json<crate::rest::envelope::DataEnvelope<DeliveryDto>>, Error> {
    let delivery = operations
        .call(
            operations
                .webhooks
                .clone()
                .redeliver_delivery(pb::RedeliverDeliveryRequest {
                    user_id: user.user_id.to_string(),
                    subscription_id: id,
                    delivery_id,
                }),
        )
        .await?;
    Ok(Json(crate::rest::envelope::DataEnvelope::new(delivery_dto(
        delivery,
    ))))
}
