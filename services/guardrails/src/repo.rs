//! The `guardrail_user_limits` table: admins' per-user overrides of window limits. Every function
//! takes its executor, so callers choose the transaction.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// Returns the user's overrides, as `(window label, limit in micro-dollars)`.
pub async fn overrides<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT spend_window, limit_micros FROM guardrail_user_limits WHERE user_id = $1")
        .bind(user_id.to_string())
        .fetch_all(executor)
        .await
}

/// One override to store.
#[derive(Debug, Clone, Copy)]
pub struct Override<'a> {
    /// Whose.
    pub user_id: UserId,
    /// The window's label.
    pub window: &'a str,
    /// The limit in micro-dollars; 0 turns the window off.
    pub limit_micros: i64,
    /// The admin who set it.
    pub set_by: &'a str,
    /// Unix milliseconds.
    pub now_ms: i64,
}

/// Stores one override, replacing the window's previous one.
pub async fn upsert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: Override<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO guardrail_user_limits (user_id, spend_window, limit_micros, set_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (user_id, spend_window) DO UPDATE SET limit_micros = excluded.limit_micros, \
         set_by = excluded.set_by, updated_at = excluded.updated_at",
    )
    .bind(row.user_id.to_string())
    .bind(row.window)
    .bind(row.limit_micros)
    .bind(row.set_by)
    .bind(row.now_ms)
    .execute(executor)
    .await?;
    Ok(())
}

/// Removes the override of one window.
pub async fn delete_window<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    window: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM guardrail_user_limits WHERE user_id = $1 AND spend_window = $2")
        .bind(user_id.to_string())
        .bind(window)
        .execute(executor)
        .await?;
    Ok(())
}

/// Removes every override of the user.
pub async fn delete_all<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM guardrail_user_limits WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(executor)
        .await?;
    Ok(())
}
