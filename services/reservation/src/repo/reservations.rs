//! The `reservations` table.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `reservations`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReservationRow {
    /// UUID v7.
    pub id: String,
    /// The owner.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// GPUs asked for (1–16).
    pub requested: i64,
    /// The caller's idempotency key.
    pub idempotency_key: Option<String>,
    /// JSON array of strings, one per slot that could not be filled.
    pub errors: String,
    /// Unix ms.
    pub created_at: i64,
}

impl ReservationRow {
    /// Returns the slot errors.
    pub fn error_lines(&self) -> Vec<String> {
        serde_json::from_str(&self.errors).unwrap_or_default()
    }
}

/// The columns of a row, in `FromRow` order; a macro so queries stay `&'static str`.
macro_rules! columns {
    () => {
        "id, user_id, requested, idempotency_key, errors, created_at"
    };
}

/// Inserts a reservation; a repeated idempotency key is a unique violation.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &ReservationRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO reservations (id, user_id, requested, idempotency_key, errors, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&row.id)
    .bind(row.user_id.to_string())
    .bind(row.requested)
    .bind(&row.idempotency_key)
    .bind(&row.errors)
    .bind(row.created_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Stores the slot errors once the reservation is done.
pub async fn set_errors<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    errors: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE reservations SET errors = $2 WHERE id = $1")
        .bind(id)
        .bind(serde_json::to_string(errors).unwrap_or_else(|_| "[]".to_owned()))
        .execute(executor)
        .await?;
    Ok(())
}

/// Returns `user_id`'s reservation `id`; another user's is `None`.
pub async fn find_owned<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    id: &str,
) -> Result<Option<ReservationRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM reservations WHERE user_id = $1 AND id = $2"
    ))
    .bind(user_id.to_string())
    .bind(id)
    .fetch_optional(executor)
    .await
}

/// Returns `user_id`'s reservation made with `key`.
pub async fn find_by_idempotency_key<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    key: &str,
) -> Result<Option<ReservationRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM reservations WHERE user_id = $1 AND idempotency_key = $2"
    ))
    .bind(user_id.to_string())
    .bind(key)
    .fetch_optional(executor)
    .await
}

/// Returns `user_id`'s reservations, newest first (at most 100).
pub async fn list_by_user<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<Vec<ReservationRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM reservations WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100"
    ))
    .bind(user_id.to_string())
    .fetch_all(executor)
    .await
}
