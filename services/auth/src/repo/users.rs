//! The `users` table.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRecord {
    /// UUID v7.
    #[sqlx(try_from = "String")]
    pub id: UserId,
    /// Normalised email.
    pub email: String,
    /// Full name.
    pub name: String,
    /// PHC string.
    pub password_hash: String,
    /// 0 or 1.
    pub is_admin: i64,
    /// Unix ms.
    pub created_at: i64,
}

impl UserRecord {
    /// Returns whether the user may use admin routes.
    pub fn is_admin(&self) -> bool {
        self.is_admin != 0
    }
}

/// The columns of a full record, in `FromRow` order; a macro so queries stay `&'static str`.
macro_rules! user_columns {
    () => {
        "id, email, name, password_hash, is_admin, created_at"
    };
}

/// Inserts a user; a taken email is a unique violation.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    user: &UserRecord,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, is_admin, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(user.id.to_string())
    .bind(&user.email)
    .bind(&user.name)
    .bind(&user.password_hash)
    .bind(user.is_admin)
    .bind(user.created_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the user with `email` (already normalised).
pub async fn find_by_email<'e>(
    executor: impl Executor<'e, Database = Any>,
    email: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(executor)
    .await
}

/// Returns the user with `id`.
pub async fn find_by_id<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// Returns a page of users, oldest first.
pub async fn list<'e>(
    executor: impl Executor<'e, Database = Any>,
    limit: i64,
    offset: i64,
) -> Result<Vec<UserRecord>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(executor)
    .await
}

/// Sets the admin flag of the user with `email`; returns whether a user was updated.
pub async fn set_admin<'e>(
    executor: impl Executor<'e, Database = Any>,
    email: &str,
    is_admin: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query("UPDATE users SET is_admin = $1, updated_at = $2 WHERE email = $3")
        .bind(i64::from(is_admin))
        .bind(now)
        .bind(email)
        .execute(executor)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Returns the number of users and of admins.
pub async fn counts<'e>(executor: impl Executor<'e, Database = Any>) -> Result<(i64, i64), sqlx::Error> {
    // SUM over a BIGINT column is NUMERIC on PostgreSQL, which the Any driver cannot decode; a sum
    // of CASE integers is BIGINT on both databases.
    sqlx::query_as("SELECT COUNT(*), COALESCE(SUM(CASE WHEN is_admin <> 0 THEN 1 ELSE 0 END), 0) FROM users")
        .fetch_one(executor)
        .await
}
