//! `models` and `model_uploads`.

use gpuproxy_db::{Any, AnyPool};
use sqlx::Executor;

/// A row of `models`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ModelRow {
    /// UUID v7.
    pub id: String,
    /// The owner's id.
    pub user_id: String,
    /// The name its owner gave it.
    pub name: String,
    /// 1, 2, … per name.
    pub version: i64,
    /// The format told from its bytes.
    pub format: String,
    /// What serves it.
    pub runtime: String,
    /// `ready`.
    pub status: String,
    /// The file's size.
    pub size_bytes: i64,
    /// Hex SHA-256 of the file.
    pub sha256: String,
    /// Where it is in object storage.
    pub artifact_key: String,
    /// The uploaded file's name.
    pub filename: String,
    /// JSON of its inputs and outputs.
    pub signature: String,
    /// Unix ms.
    pub created_at: i64,
}

macro_rules! columns {
    () => {
        "id, user_id, name, version, format, runtime, status, size_bytes, sha256, artifact_key, filename, \
         signature, created_at"
    };
}

/// Inserts a model.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &ModelRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO models (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&row.id)
    .bind(&row.user_id)
    .bind(&row.name)
    .bind(row.version)
    .bind(&row.format)
    .bind(&row.runtime)
    .bind(&row.status)
    .bind(row.size_bytes)
    .bind(&row.sha256)
    .bind(&row.artifact_key)
    .bind(&row.filename)
    .bind(&row.signature)
    .bind(row.created_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// The model `id` of `user_id`.
pub async fn find(pool: &AnyPool, user_id: &str, id: &str) -> Result<Option<ModelRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM models WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// `user_id`'s models, newest first.
pub async fn list(pool: &AnyPool, user_id: &str) -> Result<Vec<ModelRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM models WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// Bytes `user_id`'s models take.
pub async fn used_bytes<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: &str,
) -> Result<i64, sqlx::Error> {
    let (used,): (Option<i64>,) =
        sqlx::query_as("SELECT CAST(SUM(size_bytes) AS BIGINT) FROM models WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(executor)
            .await?;
    Ok(used.unwrap_or(0))
}

/// The next version of `name` for `user_id`.
pub async fn next_version<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: &str,
    name: &str,
) -> Result<i64, sqlx::Error> {
    let (latest,): (Option<i64>,) =
        sqlx::query_as("SELECT CAST(MAX(version) AS BIGINT) FROM models WHERE user_id = $1 AND name = $2")
            .bind(user_id)
            .bind(name)
            .fetch_one(executor)
            .await?;
    Ok(latest.unwrap_or(0) + 1)
}

/// Deletes a model's row; `false` when it was not there.
pub async fn delete<'e>(executor: impl Executor<'e, Database = Any>, id: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM models WHERE id = $1")
        .bind(id)
        .execute(executor)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Uploads `user_id` started since `hour_ago` and since `day_ago`.
pub async fn uploads_since(
    pool: &AnyPool,
    user_id: &str,
    hour_ago: i64,
    day_ago: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN started_at >= $2 THEN 1 ELSE 0 END), 0) AS BIGINT), \
         CAST(COUNT(*) AS BIGINT) FROM model_uploads WHERE user_id = $1 AND started_at >= $3",
    )
    .bind(user_id)
    .bind(hour_ago)
    .bind(day_ago)
    .fetch_one(pool)
    .await
}

/// Records an upload `user_id` started at `now`, forgetting theirs older than `day_ago`.
pub async fn record_upload(pool: &AnyPool, user_id: &str, now: i64, day_ago: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO model_uploads (id, user_id, started_at) VALUES ($1, $2, $3)")
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(user_id)
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query("DELETE FROM model_uploads WHERE user_id = $1 AND started_at < $2")
        .bind(user_id)
        .bind(day_ago)
        .execute(pool)
        .await?;
    Ok(())
}
