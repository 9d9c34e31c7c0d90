//! Creating, listing and deleting subscriptions, and reading their delivery log.
use gpuproxy_domain::{UserId, now_ms};

use crate::error::Error;
use crate::repo::deliveries::{self, DeliveryRow};
use crate::repo::subscriptions::{self, SubscriptionRow};
use crate::service::{Webhooks, new_id};
use crate::topics::{self, Kind};

/// Shortest secret a caller may choose.
const MIN_SECRET_LEN: usize = 16;
/// Longest secret and description.
const MAX_TEXT_LEN: usize = 256;
/// Largest page of the delivery log.
pub const MAX_PAGE: i64 = 500;

/// What a caller asks for.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    /// The owner.
    pub user_id: UserId,
    /// Whether the owner is an admin.
    pub is_admin: bool,
    /// Where to POST.
    pub url: String,
    /// Names or patterns; empty: every event of the kind.
    pub events: Vec<String>,
    /// Empty: one is made.
    pub secret: String,
    /// `all` or `billing`.
    pub kind: String,
    /// Every user's events (admins only).
    pub all_users: bool,
    /// A note.
    pub description: String,
}

/// A subscription and how its deliveries stand.
#[derive(Debug, Clone)]
pub struct SubscriptionView {
    /// The row.
    pub row: SubscriptionRow,
    /// Delivered so far.
    pub delivered: i64,
    /// Waiting or being retried.
    pub pending: i64,
    /// Dead-lettered.
    pub dead: i64,
}

impl Webhooks {
    /// Validates and stores a subscription; the answer holds the secret, which no later call shows.
    pub async fn create_subscription(&self, request: NewSubscription) -> Result<SubscriptionRow, Error> {
        let kind = Kind::parse(&request.kind)?;
        let events = topics::validate(kind, &request.events)?;
        if request.all_users && !request.is_admin {
            return Err(Error::Forbidden("only admins may receive every user's events"));
        }
        if request.description.chars().count() > MAX_TEXT_LEN {
            return Err(Error::invalid(
                "description",
                format!("is longer than {MAX_TEXT_LEN} characters"),
            ));
        }
        let secret = match request.secret.as_str() {
            "" => format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>())),
            given if given.chars().count() < MIN_SECRET_LEN => {
                return Err(Error::invalid(
                    "secret",
                    format!("must be at least {MIN_SECRET_LEN} characters"),
                ));
            }
            given if given.chars().count() > MAX_TEXT_LEN => {
                return Err(Error::invalid(
                    "secret",
                    format!("is longer than {MAX_TEXT_LEN} characters"),
                ));
            }
            given => given.to_owned(),
        };
        let url = crate::target::check(self.client(), &request.url).await?;
        let held = subscriptions::count_by_user(self.database().pool(), request.user_id).await?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= self.max_per_user() {
            return Err(Error::invalid(
                "url",
                format!("you already have {held} webhooks, the most allowed; delete one first"),
            ));
        }
        let row = SubscriptionRow {
            id: new_id(),
            user_id: request.user_id,
            url: url.to_string(),
            events: serde_json::to_string(&events).map_err(anyhow::Error::from)?,
            kind: kind.as_str().to_owned(),
            all_users: i64::from(request.all_users),
            description: request.description,
            secret,
            created_at: now_ms(),
        };
        subscriptions::insert(self.database().pool(), &row).await?;
        tracing::info!(subscription = %row.id, user = %row.user_id, kind = %row.kind, "webhook subscribed");
        Ok(row)
    }

    /// Returns the user's subscriptions.
    pub async fn list_subscriptions(&self, user_id: UserId) -> Result<Vec<SubscriptionView>, Error> {
        let rows = subscriptions::list_by_user(self.database().pool(), user_id).await?;
        let mut views = Vec::with_capacity(rows.len());
        for row in rows {
            views.push(self.view(row).await?);
        }
        Ok(views)
    }

    /// Returns the user's subscription `id`; another user's answers `NOT_FOUND`.
    pub async fn subscription(&self, user_id: UserId, id: &str) -> Result<SubscriptionView, Error> {
        let row = self.owned(user_id, id).await?;
        self.view(row).await
    }

    /// Deletes the user's subscription `id` and its deliveries.
    pub async fn delete_subscription(&self, user_id: UserId, id: &str) -> Result<(), Error> {
        let mut transaction = self.database().pool().begin().await?;
        if !subscriptions::delete(&mut *transaction, user_id, id).await? {
            return Err(not_found("webhook", id));
        }
        deliveries::delete_for_subscription(&mut *transaction, id).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Returns a page of the subscription's delivery log (newest first) and its size.
    pub async fn deliveries(
        &self,
        user_id: UserId,
        subscription_id: &str,
        status: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<DeliveryRow>, i64), Error> {
        let status = match status {
            "" => None,
            "pending" | "delivered" | "dead" => Some(status),
            other => {
                return Err(Error::invalid(
                    "status",
                    format!("{other:?} is not pending, delivered or dead"),
                ));
            }
        };
        if !(0..=MAX_PAGE).contains(&limit) || offset < 0 {
            return Err(Error::invalid(
                "limit",
                format!("must be 1–{MAX_PAGE} with a non-negative offset"),
            ));
        }
        let limit = if limit == 0 { 50 } else { limit };
        let view = self.subscription(user_id, subscription_id).await?;
        let rows = deliveries::list(self.database().pool(), subscription_id, status, limit, offset).await?;
        let total = match status {
            None => view.delivered + view.pending + view.dead,
            Some("pending") => view.pending,
            Some("delivered") => view.delivered,
            Some(_) => view.dead,
        };
        Ok((rows, total))
    }

    /// Queues a dead-lettered delivery again, from attempt one.
    pub async fn redeliver(
        &self,
        user_id: UserId,
        subscription_id: &str,
        delivery_id: &str,
    ) -> Result<DeliveryRow, Error> {
        self.owned(user_id, subscription_id).await?;
        let row = deliveries::redeliver(self.database().pool(), subscription_id, delivery_id, now_ms())
            .await?
            .ok_or_else(|| not_found("dead-lettered delivery", delivery_id))?;
        self.wake_sender([subscription_id]);
        Ok(row)
    }

    async fn owned(&self, user_id: UserId, id: &str) -> Result<SubscriptionRow, Error> {
        subscriptions::get(self.database().pool(), user_id, id)
            .await?
            .ok_or_else(|| not_found("webhook", id))
    }

    async fn view(&self, row: SubscriptionRow) -> Result<SubscriptionView, Error> {
        let mut view = SubscriptionView {
            row,
            delivered: 0,
            pending: 0,
            dead: 0,
        };
        for (status, count) in deliveries::counts(self.database().pool(), &view.row.id).await? {
            match status.as_str() {
                "delivered" => view.delivered = count,
                "pending" => view.pending = count,
                _ => view.dead += count,
            }
        }
        Ok(view)
    }
}

fn not_found(what: &'static str, id: &str) -> Error {
    Error::NotFound {
        what,
        id: id.to_owned(),
    }
}
