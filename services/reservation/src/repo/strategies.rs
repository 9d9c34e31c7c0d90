//! The `lb_strategies` table: each user's load-balancing strategy, when they chose one.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// Returns every stored choice, as `(user_id, strategy)`.
pub async fn all<'e>(
    executor: impl Executor<'e, Database = Any>,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT user_id, strategy FROM lb_strategies")
        .fetch_all(executor)
        .await
}

/// Stores `user_id`'s choice.
pub async fn upsert<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    strategy: &str,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO lb_strategies (user_id, strategy, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET strategy = excluded.strategy, updated_at = excluded.updated_at",
    )
    .bind(user_id.to_string())
    .bind(strategy)
    .bind(now_ms)
    .execute(executor)
    .await?;
    Ok(())
}
