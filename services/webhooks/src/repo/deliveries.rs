//! `webhook_deliveries`: one row per (subscription, event). A row is `pending` until an attempt
//! succeeds (`delivered`) or the retries run out or the receiver says it is gone (`dead`). An
//! attempt first moves `next_attempt_at` to the end of its lease, so that another replica (or this
//! one after a crash) takes the row over only once the lease has run out.

use gpuproxy_db::Any;
use sqlx::Executor;

/// A row of `webhook_deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    /// UUID v7.
    pub id: String,
    /// Whose.
    pub subscription_id: String,
    /// The event's id: receivers deduplicate on it.
    pub event_id: String,
    /// The event's name.
    pub event: String,
    /// The envelope as first serialised.
    pub payload: String,
    /// `pending`, `delivered`, `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// The receiver's last HTTP status; 0 when it never answered.
    pub last_status: i64,
    /// Why the last attempt failed.
    pub last_error: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub next_attempt_at: i64,
    /// Unix ms, once delivered.
    pub delivered_at: Option<i64>,
}

/// The end state of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished<'a> {
    /// `pending` (to retry at `next_attempt_at`), `delivered` or `dead`.
    pub status: &'a str,
    /// Attempts made so far.
    pub attempts: i64,
    /// The receiver's HTTP status, 0 when it never answered.
    pub last_status: i64,
    /// Why it failed; empty when delivered.
    pub last_error: &'a str,
    /// When to retry (pending only).
    pub next_attempt_at: i64,
    /// When it was delivered (delivered only).
    pub delivered_at: Option<i64>,
}

macro_rules! columns {
    () => {
        "id, subscription_id, event_id, event, payload, status, attempts, last_status, \
                       last_error, created_at, next_attempt_at, delivered_at"
    };
}

/// Rows per `INSERT`: 12 parameters each stays far below both databases' limits.
pub const INSERT_BATCH: usize = 100;

/// Inserts pending deliveries (at most [`INSERT_BATCH`]) in one statement, leaving out those whose
/// subscription already has one for the event; returns how many were inserted.
pub async fn insert_once<'e>(
    executor: impl Executor<'e, Database = Any>,
    rows: &[DeliveryRow],
) -> Result<u64, sqlx::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let values = (0..rows.len())
        .map(|row| {
            let first = row * 12;
            let placeholders: Vec<String> = (1..=12).map(|column| format!("${}", first + column)).collect();
            format!("({})", placeholders.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let columns = columns!();
    let sql = format!(
        "INSERT INTO webhook_deliveries ({columns}) VALUES {values} ON CONFLICT (subscription_id, event_id) DO NOTHING"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        query = query
            .bind(&row.id)
            .bind(&row.subscription_id)
            .bind(&row.event_id)
            .bind(&row.event)
            .bind(&row.payload)
            .bind(&row.status)
            .bind(row.attempts)
            .bind(row.last_status)
            .bind(&row.last_error)
            .bind(row.created_at)
            .bind(row.next_attempt_at)
            .bind(row.delivered_at);
    }
    Ok(query.execute(executor).await?.rows_affected())
}

/// Returns up to `limit` of the subscription's pending deliveries due at `now`, oldest due first.
pub async fn due_for<'e>(
    executor: impl Executor<'e, Database = Any>,
    subscription_id: &str,
    now: i64,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM webhook_deliveries WHERE subscription_id = $1 AND status = 'pending' AND next_attempt_at <= $2 \
         ORDER BY next_attempt_at LIMIT $3"
    ))
    .bind(subscription_id)
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Returns the subscriptions that have pending deliveries due at `now`: one index probe per
/// subscription, however long the backlog.
pub async fn due_subscriptions<'e>(
    executor: impl Executor<'e, Database = Any>,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        // A scalar subquery with LIMIT stays a per-subscription index probe; PostgreSQL would turn
        // EXISTS into a join over every due row.
        "SELECT s.id FROM webhook_subscriptions s WHERE (SELECT d.id FROM webhook_deliveries d \
         WHERE d.subscription_id = s.id AND d.status = 'pending' AND d.next_attempt_at <= $1 LIMIT 1) IS NOT NULL",
    )
    .bind(now)
    .fetch_all(executor)
    .await
}

/// Takes due deliveries for one attempt each, until `lease_until`; returns the ids taken (those
/// another replica took first are left out).
pub async fn claim<'e>(
    executor: impl Executor<'e, Database = Any>,
    ids: &[&str],
    now: i64,
    lease_until: i64,
) -> Result<Vec<String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (0..ids.len())
        .map(|index| format!("${}", index + 3))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "UPDATE webhook_deliveries SET next_attempt_at = $1 \
         WHERE status = 'pending' AND next_attempt_at <= $2 AND id IN ({placeholders}) RETURNING id"
    );
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(lease_until)
        .bind(now);
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(executor).await
}

/// Records the end of an attempt.
pub async fn finish<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    finished: &Finished<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, last_status = $3, last_error = $4, \
         next_attempt_at = $5, delivered_at = $6 WHERE id = $7 AND status = 'pending'",
    )
    .bind(finished.status)
    .bind(finished.attempts)
    .bind(finished.last_status)
    .bind(finished.last_error)
    .bind(finished.next_attempt_at)
    .bind(finished.delivered_at)
    .bind(id)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns a page of a subscription's deliveries, newest first, optionally of one status.
pub async fn list<'e>(
    executor: impl Executor<'e, Database = Any>,
    subscription_id: &str,
    status: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM webhook_deliveries WHERE subscription_id = $1 AND ($2 = '' OR status = $2) \
         ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(subscription_id)
    .bind(status.unwrap_or(""))
    .bind(limit)
    .bind(offset)
    .fetch_all(executor)
    .await
}

/// Counts a subscription's deliveries by status: `(status, count)`.
pub async fn counts<'e>(
    executor: impl Executor<'e, Database = Any>,
    subscription_id: &str,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT status, COUNT(*) FROM webhook_deliveries WHERE subscription_id = $1 GROUP BY status",
    )
    .bind(subscription_id)
    .fetch_all(executor)
    .await
}

/// Puts a dead delivery back in the queue, from attempt one; returns it, or `None` when there is
/// no dead delivery `id` in the subscription.
pub async fn redeliver<'e>(
    executor: impl Executor<'e, Database = Any>,
    subscription_id: &str,
    id: &str,
    now: i64,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    sqlx::query_as(concat!("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1, last_error = '' \
         WHERE id = $2 AND subscription_id = $3 AND status = 'dead' RETURNING ", columns!()))
    .bind(now)
    .bind(id)
    .bind(subscription_id)
    .fetch_optional(executor)
    .await
}

/// Deletes a subscription's deliveries.
pub async fn delete_for_subscription<'e>(
    executor: impl Executor<'e, Database = Any>,
    subscription_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE subscription_id = $1")
        .bind(subscription_id)
        .execute(executor)
        .await?;
    Ok(())
}

/// Deletes delivered and dead rows created before `cutoff`.
pub async fn delete_finished_before<'e>(
    executor: impl Executor<'e, Database = Any>,
    cutoff: i64,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1")
        .bind(cutoff)
        .execute(executor)
        .await?;
    Ok(result.rows_affected())
}
