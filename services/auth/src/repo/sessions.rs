//! The `sessions` table.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `sessions`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRecord {
    /// UUID v7, also the JWT's `sid`.
    pub id: String,
    /// The user.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub expires_at: i64,
    /// Unix ms, once logged out.
    pub revoked_at: Option<i64>,
    /// Where the login came from.
    pub client_ip: String,
    /// The login's user agent.
    pub user_agent: String,
}

/// Inserts a session.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    session: &SessionRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, client_ip, user_agent) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&session.id)
    .bind(session.user_id.to_string())
    .bind(session.created_at)
    .bind(session.expires_at)
    .bind(&session.client_ip)
    .bind(&session.user_agent)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the session `id`, revoked or not.
pub async fn find<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<SessionRecord>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, user_id, created_at, expires_at, revoked_at, client_ip, user_agent FROM sessions WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(executor)
    .await
}

/// Ends `user_id`'s session `id` unless already ended; returns whether this call ended it.
pub async fn revoke<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    user_id: UserId,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .bind(user_id.to_string())
    .execute(executor)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Returns the number of sessions neither ended nor expired.
pub async fn count_active<'e>(
    executor: impl Executor<'e, Database = Any>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > $1")
            .bind(now)
            .fetch_one(executor)
            .await?;
    Ok(count)
}

/// Deletes sessions that expired before `before`; returns how many.
pub async fn delete_expired<'e>(
    executor: impl Executor<'e, Database = Any>,
    before: i64,
) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("DELETE FROM sessions WHERE expires_at < $1")
        .bind(before)
        .execute(executor)
        .await?;
    Ok(result.rows_affected())
}
