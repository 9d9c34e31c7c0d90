//! `credit_holds`: credits set aside for spending that has started. `billing_accounts.held_micros`
//! is the sum of their `remaining_micros`, changed in the same transaction as they are.

use gpuproxy_db::{Any, Transaction};
use gpuproxy_domain::UserId;
use sqlx::Executor;

use crate::repo::ledger::AccountRow;

/// A row of `credit_holds`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoldRow {
    /// Chosen by the caller.
    pub id: String,
    /// Whose credits.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// Held at first.
    pub amount_micros: i64,
    /// Not yet taken by usage or released.
    pub remaining_micros: i64,
    /// Unix ms; what is left then is released.
    pub expires_at: i64,
    /// Unix ms.
    pub created_at: i64,
}

macro_rules! columns {
    () => {
        "id, user_id, amount_micros, remaining_micros, expires_at, created_at"
    };
}

/// Adds `amount` to what the user has held when the balance less what is held covers it within
/// the cap; returns the account after, or `None` when it does not. One statement, so concurrent
/// holds are applied one after another and can never overcommit together.
pub async fn hold_on_account(
    transaction: &mut Transaction<'_, Any>,
    user_id: UserId,
    amount: i64,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE billing_accounts SET held_micros = held_micros + $2 \
         WHERE user_id = $1 AND balance_micros - held_micros - $2 >= -cap_micros \
         RETURNING user_id, balance_micros, credited_micros, cap_micros, auto_renew, \
         auto_renew_amount_micros, held_micros",
    )
    .bind(user_id.to_string())
    .bind(amount)
    .fetch_optional(&mut **transaction)
    .await
}

/// Takes `amount` off what the user has held.
pub async fn unhold_on_account<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    amount: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE billing_accounts SET held_micros = held_micros - $2 WHERE user_id = $1")
        .bind(user_id.to_string())
        .bind(amount)
        .execute(executor)
        .await?;
    Ok(())
}

/// Inserts a hold; a repeated id is a unique violation.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &HoldRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO credit_holds (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(&row.id)
    .bind(row.user_id.to_string())
    .bind(row.amount_micros)
    .bind(row.remaining_micros)
    .bind(row.expires_at)
    .bind(row.created_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the hold, if it exists.
pub async fn find<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<HoldRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", columns!(), " FROM credit_holds WHERE id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// Takes `amount` from the hold if it still has `remaining` left; returns whether it did (a
/// concurrent take got there first otherwise).
pub async fn take<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    amount: i64,
    remaining: i64,
) -> Result<bool, sqlx::Error> {
    let taken = sqlx::query(
        "UPDATE credit_holds SET remaining_micros = remaining_micros - $2 WHERE id = $1 AND remaining_micros = $3",
    )
    .bind(id)
    .bind(amount)
    .bind(remaining)
    .execute(executor)
    .await?;
    Ok(taken.rows_affected() > 0)
}

/// Holds that expired before `now` with something left, at most `limit`.
pub async fn expired<'e>(
    executor: impl Executor<'e, Database = Any>,
    now: i64,
    limit: i64,
) -> Result<Vec<HoldRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM credit_holds WHERE expires_at < $1 AND remaining_micros > 0 ORDER BY expires_at LIMIT $2"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(executor)
    .await
}
