//! `processed_webhooks`: the processor events already acted on.

use gpuproxy_db::Any;
use sqlx::Executor;

/// Records `event_id`; a replay is a unique violation, which rolls the caller's transaction back.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    provider: &str,
    event_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO processed_webhooks (provider, event_id, received_at) VALUES ($1, $2, $3)")
        .bind(provider)
        .bind(event_id)
        .bind(now)
        .execute(executor)
        .await?;
    Ok(())
}
