//! The `api_keys` table.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `api_keys`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiKeyRecord {
    /// UUID v7.
    pub id: String,
    /// The owner.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// The owner's label for the key.
    pub name: String,
    /// The key's first characters (indexed, unique).
    pub prefix: String,
    /// Hex SHA-256 of the key.
    pub key_hash: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms; updated at most once a minute.
    pub last_used_at: Option<i64>,
    /// Unix ms, if the key expires.
    pub expires_at: Option<i64>,
    /// Unix ms, once revoked.
    pub revoked_at: Option<i64>,
}

/// The columns of a full record, in `FromRow` order; a macro so queries stay `&'static str`.
macro_rules! key_columns {
    () => {
        "id, user_id, name, prefix, key_hash, created_at, last_used_at, expires_at, revoked_at"
    };
}

/// Inserts a key; a colliding prefix is a unique violation.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    key: &ApiKeyRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&key.id)
    .bind(key.user_id.to_string())
    .bind(&key.name)
    .bind(&key.prefix)
    .bind(&key.key_hash)
    .bind(key.created_at)
    .bind(key.expires_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the key whose prefix is `prefix`.
pub async fn find_by_prefix<'e>(
    executor: impl Executor<'e, Database = Any>,
    prefix: &str,
) -> Result<Option<ApiKeyRecord>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys WHERE prefix = $1"
    ))
    .bind(prefix)
    .fetch_optional(executor)
    .await
}

/// Returns `user_id`'s key `key_id`; another user's key is `None`.
pub async fn find_owned<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    key_id: &str,
) -> Result<Option<ApiKeyRecord>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys WHERE id = $1 AND user_id = $2"
    ))
    .bind(key_id)
    .bind(user_id.to_string())
    .fetch_optional(executor)
    .await
}

/// Returns `user_id`'s keys, newest first, revoked ones included.
pub async fn list_for_user<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<Vec<ApiKeyRecord>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        key_columns!(),
        " FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(user_id.to_string())
    .fetch_all(executor)
    .await
}

/// Revokes `user_id`'s key `key_id` unless already revoked; returns whether this call revoked it.
pub async fn revoke<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    key_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(key_id)
    .bind(user_id.to_string())
    .execute(executor)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Records a use of key `key_id` unless one was recorded in the last `throttle_ms`, so a busy key
/// costs one write a minute rather than one per request.
pub async fn touch<'e>(
    executor: impl Executor<'e, Database = Any>,
    key_id: &str,
    now: i64,
    throttle_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
    )
    .bind(now)
    .bind(key_id)
    .bind(now - throttle_ms)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the number of active and of revoked keys.
pub async fn counts<'e>(executor: impl Executor<'e, Database = Any>) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END), 0), \
                COALESCE(SUM(CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END), 0) FROM api_keys",
    )
    .fetch_one(executor)
    .await
}
