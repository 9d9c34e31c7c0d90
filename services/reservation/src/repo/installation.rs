//! The `reservation_installation` table: this database's installation id, made once.

use gpuproxy_db::Any;
use sqlx::Executor;

/// Returns the installation id, if one was made.
pub async fn find<'e>(executor: impl Executor<'e, Database = Any>) -> Result<Option<String>, sqlx::Error> {
    let row: Option<(String,)> = sqlx::query_as("SELECT id FROM reservation_installation LIMIT 1")
        .fetch_optional(executor)
        .await?;
    Ok(row.map(|(id,)| id))
}

/// Stores `id` as the installation id; a concurrent first start's insert wins.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO reservation_installation (singleton, id, created_at) VALUES (1, $1, $2) ON CONFLICT (singleton) DO NOTHING")
        .bind(id)
        .bind(now_ms)
        .execute(executor)
        .await?;
    Ok(())
}
