//! `webhook_subscriptions`: who wants which events where, with the secret that signs them.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `webhook_subscriptions`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SubscriptionRow {
    /// UUID v7.
    pub id: String,
    /// The owner.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// Where deliveries are POSTed.
    pub url: String,
    /// JSON array of names and patterns.
    pub events: String,
    /// `all` or `billing`.
    pub kind: String,
    /// 1: every user's events.
    pub all_users: i64,
    /// The owner's note.
    pub description: String,
    /// Signs deliveries.
    pub secret: String,
    /// Unix ms.
    pub created_at: i64,
}

impl SubscriptionRow {
    /// The names and patterns, parsed.
    pub fn topics(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}

macro_rules! columns {
    () => {
        "id, user_id, url, events, kind, all_users, description, secret, created_at"
    };
}

/// Inserts a subscription.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &SubscriptionRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO webhook_subscriptions (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(&row.id)
    .bind(row.user_id.to_string())
    .bind(&row.url)
    .bind(&row.events)
    .bind(&row.kind)
    .bind(row.all_users)
    .bind(&row.description)
    .bind(&row.secret)
    .bind(row.created_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns a user's subscriptions, oldest first.
pub async fn list_by_user<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<Vec<SubscriptionRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM webhook_subscriptions WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id.to_string())
    .fetch_all(executor)
    .await
}

/// Returns the user's subscription `id`.
pub async fn get<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    id: &str,
) -> Result<Option<SubscriptionRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM webhook_subscriptions WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id.to_string())
    .fetch_optional(executor)
    .await
}

/// Returns the subscriptions that may receive an event about `user_id`: the user's own and those
/// of every-user subscribers; for a fleet-wide event (`None`), all of them.
pub async fn audience<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: Option<&str>,
) -> Result<Vec<SubscriptionRow>, sqlx::Error> {
    match user_id {
        Some(user_id) => {
            sqlx::query_as(concat!(
                "SELECT ",
                columns!(),
                " FROM webhook_subscriptions WHERE user_id = $1 OR all_users = 1"
            ))
            .bind(user_id.to_string())
            .fetch_all(executor)
            .await
        }
        None => {
            sqlx::query_as(concat!("SELECT ", columns!(), " FROM webhook_subscriptions"))
                .fetch_all(executor)
                .await
        }
    }
}

/// Returns the secret of subscription `id`, if it still exists.
pub async fn secret_and_url<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT secret, url FROM webhook_subscriptions WHERE id = $1")
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// Counts a user's subscriptions.
pub async fn count_by_user<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_subscriptions WHERE user_id = $1")
        .bind(user_id.to_string())
        .fetch_one(executor)
        .await?;
    Ok(count)
}

/// Deletes the user's subscription `id`; returns whether it existed.
pub async fn delete<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("DELETE FROM webhook_subscriptions WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user_id.to_string())
        .execute(executor)
        .await?;
    Ok(result.rows_affected() == 1)
}
