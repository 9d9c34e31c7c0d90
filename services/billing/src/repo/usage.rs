//! `usage_records`: what was spent on what, by whom and from where.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `usage_records`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UsageRow {
    /// UUID v7.
    pub id: String,
    /// The user charged.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// `instance` or `request`.
    pub kind: String,
    /// The client (API key prefix, session, CLI) that caused it.
    pub client_id: String,
    /// Its address.
    pub client_ip: String,
    /// The instance metered, if any.
    pub instance_id: String,
    /// Unix ms.
    pub started_at: i64,
    /// How long.
    pub duration_ms: i64,
    /// What it cost.
    pub cost_micros: i64,
    /// Shown in the usage list.
    pub description: String,
    /// The caller's key: one record per key.
    pub idempotency_key: String,
    /// Unix ms.
    pub created_at: i64,
}

macro_rules! columns {
    () => {
        "id, user_id, kind, client_id, client_ip, instance_id, started_at, duration_ms, cost_micros, \
         description, idempotency_key, created_at"
    };
}

/// Inserts a record; a repeated `(user, idempotency key)` is a unique violation.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &UsageRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO usage_records (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&row.id)
    .bind(row.user_id.to_string())
    .bind(&row.kind)
    .bind(&row.client_id)
    .bind(&row.client_ip)
    .bind(&row.instance_id)
    .bind(row.started_at)
    .bind(row.duration_ms)
    .bind(row.cost_micros)
    .bind(&row.description)
    .bind(&row.idempotency_key)
    .bind(row.created_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the record written under `idempotency_key`.
pub async fn find_by_key<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    idempotency_key: &str,
) -> Result<Option<UsageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM usage_records WHERE user_id = $1 AND idempotency_key = $2"
    ))
    .bind(user_id.to_string())
    .bind(idempotency_key)
    .fetch_optional(executor)
    .await
}

/// Returns a page of the user's records, newest first.
pub async fn list<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    limit: i64,
    offset: i64,
) -> Result<Vec<UsageRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM usage_records WHERE user_id = $1 ORDER BY started_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(user_id.to_string())
    .bind(limit)
    .bind(offset)
    .fetch_all(executor)
    .await
}

/// Returns how many records the user has and what they cost in all.
pub async fn totals<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT) FROM usage_records WHERE user_id = $1",
    )
    .bind(user_id.to_string())
    .fetch_one(executor)
    .await
}
