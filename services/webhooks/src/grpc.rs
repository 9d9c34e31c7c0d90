//! The internal gRPC API: converts messages to use-case calls and back.

use gpuproxy_domain::UserId;
use gpuproxy_proto::gpuproxy::webhooks::v1 as pb;
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_server::WebhookService;
use tonic::{Request, Response, Status};

use crate::error::Error;
use crate::repo::deliveries::DeliveryRow;
use crate::repo::subscriptions::SubscriptionRow;
use crate::service::Webhooks;
use crate::subscriptions::{NewSubscription, SubscriptionView};

/// The gRPC face of [`Webhooks`].
#[derive(Debug, Clone)]
pub struct GrpcWebhooks {
    webhooks: Webhooks,
}

impl GrpcWebhooks {
    /// Wraps `webhooks`.
    pub fn new(webhooks: Webhooks) -> Self {
        GrpcWebhooks { webhooks }
    }
}

fn user(text: &str) -> Result<UserId, Error> {
    Ok(text.parse()?)
}

#[tonic::async_trait]
impl WebhookService for GrpcWebhooks {
    async fn create_subscription(
        &self,
        request: Request<pb::CreateSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let request = request.into_inner();
        let row = self
            .webhooks
            .create_subscription(NewSubscription {
                user_id: user(&request.user_id)?,
                is_admin: request.is_admin,
                url: request.url,
                events: request.events,
                secret: request.secret,
                kind: request.kind,
                all_users: request.all_users,
                description: request.description,
            })
            .await?;
        let secret = row.secret.clone();
        let mut message = subscription_message(SubscriptionView {
            row,
            delivered: 0,
            pending: 0,
            dead: 0,
        });
        message.secret = secret;
        Ok(Response::new(message))
    }

    async fn list_subscriptions(
        &self,
        request: Request<pb::ListSubscriptionsRequest>,
    ) -> Result<Response<pb::ListSubscriptionsResponse>, Status> {
        let views = self
            .webhooks
            .list_subscriptions(user(&request.get_ref().user_id)?)
            .await?;
        Ok(Response::new(pb::ListSubscriptionsResponse {
            subscriptions: views.into_iter().map(subscription_message).collect(),
        }))
    }

    async fn get_subscription(
        &self,
        request: Request<pb::GetSubscriptionRequest>,
    ) -> Result<Response<pb::Subscription>, Status> {
        let request = request.into_inner();
        let view = self
            .webhooks
            .subscription(user(&request.user_id)?, &request.id)
            .await?;
        Ok(Response::new(subscription_message(view)))
    }

    async fn delete_subscription(
        &self,
        request: Request<pb::DeleteSubscriptionRequest>,
    ) -> Result<Response<pb::DeleteSubscriptionResponse>, Status> {
        let request = request.into_inner();
        self.webhooks
            .delete_subscription(user(&request.user_id)?, &request.id)
            .await?;
        Ok(Response::new(pb::DeleteSubscriptionResponse {}))
    }

    async fn list_deliveries(
        &self,
        request: Request<pb::ListDeliveriesRequest>,
    ) -> Result<Response<pb::ListDeliveriesResponse>, Status> {
        let request = request.into_inner();
        let (rows, total) = self
            .webhooks
            .deliveries(
                user(&request.user_id)?,
                &request.subscription_id,
                &request.status,
                i64::from(request.limit),
                i64::from(request.offset),
            )
            .await?;
        Ok(Response::new(pb::ListDeliveriesResponse {
            deliveries: rows.into_iter().map(delivery_message).collect(),
            total,
        }))
    }

    async fn redeliver_delivery(
        &self,
        request: Request<pb::RedeliverDeliveryRequest>,
    ) -> Result<Response<pb::Delivery>, Status> {
        let request = request.into_inner();
        let row = self
            .webhooks
            .redeliver(
                user(&request.user_id)?,
                &request.subscription_id,
                &request.delivery_id,
            )
            .await?;
        Ok(Response::new(delivery_message(row)))
    }
}

fn subscription_message(view: SubscriptionView) -> pb::Subscription {
    let SubscriptionView {
        row,
        delivered,
        pending,
        dead,
    } = view;
    let events = row.topics();
    let SubscriptionRow {
        id,
        user_id,
        url,
        kind,
        all_users,
        description,
        created_at,
        ..
    } = row;
    pb::Subscription {
        id,
        user_id: user_id.to_string(),
        url,
        events,
        kind,
        all_users: all_users != 0,
        description,
        created_at_ms: created_at,
        secret: String::new(),
        delivered,
        pending,
        dead,
    }
}

fn delivery_message(row: DeliveryRow) -> pb::Delivery {
    pb::Delivery {
        id: row.id,
        subscription_id: row.subscription_id,
        event_id: row.event_id,
        event: row.event,
        status: row.status,
        attempts: i32::try_from(row.attempts).unwrap_or(i32::MAX),
        last_status: i32::try_from(row.last_status).unwrap_or(0),
        last_error: row.last_error,
        created_at_ms: row.created_at,
        next_attempt_at_ms: row.next_attempt_at,
        delivered_at_ms: row.delivered_at.unwrap_or(0),
    }
}
