//! `payments`: one row per payment attempt, keyed by the caller's idempotency key. A row moves from
//! `pending` to `completed` or `failed` once; the guarded updates below are what makes settling
//! exactly-once, whichever of the create call, a webhook or a lookup gets there first.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `payments`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PaymentRow {
    /// UUID v7; also the processor's idempotency key.
    pub id: String,
    /// Who pays.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// `stripe`, `crypto`, `afterdark`.
    pub provider: String,
    /// Asked for.
    pub amount_micros: i64,
    /// `usd`.
    pub currency: String,
    /// The token or coin; never card data.
    pub payment_method: String,
    /// `pending`, `completed`, `failed`.
    pub status: String,
    /// The processor's id, once known.
    pub provider_reference: Option<String>,
    /// Where to pay (crypto).
    pub pay_to: Option<String>,
    /// How much to pay there.
    pub pay_amount: Option<String>,
    /// In which coin.
    pub pay_currency: Option<String>,
    /// Why it failed.
    pub failure_reason: Option<String>,
    /// The caller's key.
    pub idempotency_key: String,
    /// What the key was first used for.
    pub fingerprint: String,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, once completed or failed.
    pub settled_at: Option<i64>,
    /// `payment` (asked for by the user) or `renewal` (started by auto-renewal).
    pub purpose: String,
}

macro_rules! columns {
    () => {
        "id, user_id, provider, amount_micros, currency, payment_method, status, provider_reference, \
         pay_to, pay_amount, pay_currency, failure_reason, idempotency_key, fingerprint, created_at, settled_at, \
         purpose"
    };
}

/// Inserts a pending payment; a repeated `(user, idempotency key)` is a unique violation.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &PaymentRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO payments (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&row.id)
    .bind(row.user_id.to_string())
    .bind(&row.provider)
    .bind(row.amount_micros)
    .bind(&row.currency)
    .bind(&row.payment_method)
    .bind(&row.status)
    .bind(&row.provider_reference)
    .bind(&row.pay_to)
    .bind(&row.pay_amount)
    .bind(&row.pay_currency)
    .bind(&row.failure_reason)
    .bind(&row.idempotency_key)
    .bind(&row.fingerprint)
    .bind(row.created_at)
    .bind(row.settled_at)
    .bind(&row.purpose)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns the payment made under the user's key.
pub async fn find_by_key<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    idempotency_key: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM payments WHERE user_id = $1 AND idempotency_key = $2"
    ))
    .bind(user_id.to_string())
    .bind(idempotency_key)
    .fetch_optional(executor)
    .await
}

/// Returns the payment `id`.
pub async fn find<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", columns!(), " FROM payments WHERE id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// Returns the payment the processor knows as `reference`.
pub async fn find_by_reference<'e>(
    executor: impl Executor<'e, Database = Any>,
    provider: &str,
    reference: &str,
) -> Result<Option<PaymentRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM payments WHERE provider = $1 AND provider_reference = $2"
    ))
    .bind(provider)
    .bind(reference)
    .fetch_optional(executor)
    .await
}

/// Records what the processor said of a payment still pending.
pub async fn set_pending_details<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    reference: &str,
    pay_to: &str,
    pay_amount: &str,
    pay_currency: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payments SET provider_reference = $2, pay_to = NULLIF($3, ''), pay_amount = NULLIF($4, ''), \
         pay_currency = NULLIF($5, '') WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(reference)
    .bind(pay_to)
    .bind(pay_amount)
    .bind(pay_currency)
    .execute(executor)
    .await?;
    Ok(())
}

/// Moves a pending payment to `status`; returns false when it was no longer pending (somebody
/// settled it first), in which case nothing may be credited.
pub async fn finish<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    status: &str,
    reference: Option<&str>,
    failure_reason: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE payments SET status = $2, provider_reference = COALESCE($3, provider_reference), \
         failure_reason = $4, settled_at = $5 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(reference)
    .bind(failure_reason)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Returns a page of the user's payments, newest first.
pub async fn list<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    limit: i64,
    offset: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM payments WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(user_id.to_string())
    .bind(limit)
    .bind(offset)
    .fetch_all(executor)
    .await
}

/// Returns how many payments the user has.
pub async fn count<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE user_id = $1")
        .bind(user_id.to_string())
        .fetch_one(executor)
        .await
}

/// Returns pending payments with a processor reference created before `before`, oldest first: the
/// ones a missed webhook would leave waiting.
pub async fn pending_before<'e>(
    executor: impl Executor<'e, Database = Any>,
    before: i64,
    limit: i64,
) -> Result<Vec<PaymentRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM payments WHERE status = 'pending' AND provider_reference IS NOT NULL AND created_at < $1 \
         ORDER BY created_at LIMIT $2"
    ))
    .bind(before)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// The provider and method of the user's latest completed payment that can be charged again
/// without them (Stripe PaymentMethods and AfterDark accounts; a crypto payment needs its payer).
pub async fn reusable_method<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
) -> Result<Option<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT provider, payment_method FROM payments WHERE user_id = $1 AND status = 'completed' \
         AND provider IN ('stripe', 'afterdark') ORDER BY created_at DESC LIMIT 1",
    )
    .bind(user_id.to_string())
    .fetch_optional(executor)
    .await
}
