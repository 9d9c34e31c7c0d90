//! `billing_accounts` and `credit_entries`: the ledger. An entry and the account's running sum are
//! always written in one transaction, so the balance is the sum of the entries.

use gpuproxy_db::{Any, Transaction};
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `billing_accounts`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRow {
    /// The user.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// The sum of the user's entries.
    pub balance_micros: i64,
    /// The sum of the positive entries.
    pub credited_micros: i64,
    /// The overage cap.
    pub cap_micros: i64,
    /// 0/1.
    pub auto_renew: i64,
    /// Credited per renewal.
    pub auto_renew_amount_micros: i64,
    /// The sum of what is left of the user's holds.
    pub held_micros: i64,
}

/// A row of `credit_entries`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EntryRow {
    /// UUID v7.
    pub id: String,
    /// The user.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// `payment`, `admin_credit`, `usage`, `renewal`.
    pub kind: String,
    /// Signed.
    pub amount_micros: i64,
    /// The balance once this entry was applied.
    pub balance_after_micros: i64,
    /// The payment, usage record or reason behind it.
    pub reference: String,
    /// Shown in the credit history.
    pub description: String,
    /// Unix ms.
    pub created_at: i64,
}

macro_rules! account_columns {
    () => {
        "user_id, balance_micros, credited_micros, cap_micros, auto_renew, auto_renew_amount_micros, held_micros"
    };
}

macro_rules! entry_columns {
    () => {
        "id, user_id, kind, amount_micros, balance_after_micros, reference, description, created_at"
    };
}

/// Creates the account with `cap` unless it exists.
pub async fn ensure_account<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    cap: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO billing_accounts (user_id, cap_micros, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user_id.to_string())
    .bind(cap)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the account, if it exists.
pub async fn find_account<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        account_columns!(),
        " FROM billing_accounts WHERE user_id = $1"
    ))
    .bind(user_id.to_string())
    .fetch_optional(executor)
    .await
}

/// Adds `amount` (signed) to the balance, and to the credited total when positive. With
/// `enforce_cap`, refuses (returns `None`) when the balance less what is held would end past the
/// cap: one statement, so concurrent debits are applied one after another and can never pass it together.
pub async fn apply(
    transaction: &mut Transaction<'_, Any>,
    user_id: UserId,
    amount: i64,
    enforce_cap: bool,
    now: i64,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE billing_accounts SET balance_micros = balance_micros + $2, \
         credited_micros = credited_micros + (CASE WHEN $2 > 0 THEN $2 ELSE 0 END), updated_at = $3 \
         WHERE user_id = $1 AND ($4 = 0 OR balance_micros - held_micros + $2 >= -cap_micros) RETURNING ",
        account_columns!()
    ))
    .bind(user_id.to_string())
    .bind(amount)
    .bind(now)
    .bind(i64::from(enforce_cap))
    .fetch_optional(&mut **transaction)
    .await
}

/// Appends an entry; a repeated `(user, idempotency key)` is a unique violation.
pub async fn insert_entry<'e>(
    executor: impl Executor<'e, Database = Any>,
    entry: &EntryRow,
    idempotency_key: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO credit_entries (id, user_id, kind, amount_micros, balance_after_micros, reference, \
         description, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&entry.id)
    .bind(entry.user_id.to_string())
    .bind(&entry.kind)
    .bind(entry.amount_micros)
    .bind(entry.balance_after_micros)
    .bind(&entry.reference)
    .bind(&entry.description)
    .bind(idempotency_key)
    .bind(entry.created_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the entry written under `idempotency_key`.
pub async fn find_entry_by_key<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    idempotency_key: &str,
) -> Result<Option<EntryRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        entry_columns!(),
        " FROM credit_entries WHERE user_id = $1 AND idempotency_key = $2"
    ))
    .bind(user_id.to_string())
    .bind(idempotency_key)
    .fetch_optional(executor)
    .await
}

/// Returns a page of the user's entries, newest first.
pub async fn list_entries<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    limit: i64,
    offset: i64,
) -> Result<Vec<EntryRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        entry_columns!(),
        " FROM credit_entries WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(user_id.to_string())
    .bind(limit)
    .bind(offset)
    .fetch_all(executor)
    .await
}

/// Returns how many entries the user has and their sum.
pub async fn entry_totals<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT) FROM credit_entries WHERE user_id = $1",
    )
    .bind(user_id.to_string())
    .fetch_one(executor)
    .await
}

/// Sets the cap and auto-renewal; unset values stay.
pub async fn update_settings<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    cap: Option<i64>,
    auto_renew: Option<bool>,
    auto_renew_amount: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE billing_accounts SET cap_micros = COALESCE($2, cap_micros), \
         auto_renew = COALESCE($3, auto_renew), \
         auto_renew_amount_micros = COALESCE($4, auto_renew_amount_micros), updated_at = $5 \
         WHERE user_id = $1",
    )
    .bind(user_id.to_string())
    .bind(cap)
    .bind(auto_renew.map(i64::from))
    .bind(auto_renew_amount)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// Marks a renewal due for the user unless one already is; returns whether this call marked it.
pub async fn mark_renewal_due<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    mark: &str,
) -> Result<bool, sqlx::Error> {
    let marked = sqlx::query(
        "UPDATE billing_accounts SET renewal_due = $2 WHERE user_id = $1 AND renewal_due IS NULL \
         AND auto_renew = 1 AND auto_renew_amount_micros > 0",
    )
    .bind(user_id.to_string())
    .bind(mark)
    .execute(executor)
    .await?;
    Ok(marked.rows_affected() > 0)
}

/// Clears the user's renewal mark if it is still `mark` (a newer one stays).
pub async fn clear_renewal_due<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    mark: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE billing_accounts SET renewal_due = NULL WHERE user_id = $1 AND renewal_due = $2")
        .bind(user_id.to_string())
        .bind(mark)
        .execute(executor)
        .await?;
    Ok(())
}

/// Accounts with a renewal due: `(user, mark, amount)`, at most `limit`.
pub async fn renewals_due<'e>(
    executor: impl Executor<'e, Database = Any>,
    limit: i64,
) -> Result<Vec<(UserId, String, i64)>, sqlx::Error> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT user_id, renewal_due, auto_renew_amount_micros FROM billing_accounts \
         WHERE renewal_due IS NOT NULL ORDER BY user_id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.into_iter()
        .map(|(user_id, mark, amount)| {
            let user_id = user_id
                .parse()
                .map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
            Ok((user_id, mark, amount))
        })
        .collect()
}
