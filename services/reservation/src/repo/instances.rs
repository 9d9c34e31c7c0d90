//! The `instances` table.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// A row of `instances`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InstanceRow {
    /// UUID v7; also the provider-side label (see `domain::Labels`).
    pub id: String,
    /// The owner.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// The reservation it belongs to, if any.
    pub reservation_id: Option<String>,
    /// `vast.ai` or `io.net`.
    pub provider: String,
    /// The offer rented.
    pub offer_id: String,
    /// The provider's id; `None` while the rent is in flight.
    pub provider_instance_id: Option<String>,
    /// An `InstanceStatus`.
    pub status: String,
    /// GPU model of the offer.
    pub gpu_model: String,
    /// GB per GPU.
    pub vram_gb: i64,
    /// GPUs.
    pub num_gpus: i64,
    /// Micro-dollars per hour.
    pub price_micros: i64,
    /// Where it runs.
    pub location: String,
    /// `http://host:port`, once running.
    pub endpoint: Option<String>,
    /// JSON `{image, ports, disk_gb}`.
    pub config: String,
    /// 0 = never stopped for idleness.
    pub autostop_minutes: i64,
    /// The caller's idempotency key of a single create.
    pub idempotency_key: Option<String>,
    /// Why it failed or ended.
    pub reason: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms, once running.
    pub running_at: Option<i64>,
    /// Unix ms of the last proxied request, flushed from memory now and then.
    pub last_used_at: Option<i64>,
    /// Unix ms, once terminated or failed.
    pub ended_at: Option<i64>,
}

impl InstanceRow {
    /// Returns how long ago the row was written, at `now_ms`.
    pub fn age(&self, now_ms: i64) -> std::time::Duration {
        std::time::Duration::from_millis(u64::try_from(now_ms.saturating_sub(self.created_at)).unwrap_or(0))
    }
}

macro_rules! columns {
    () => {
        "id, user_id, reservation_id, provider, offer_id, provider_instance_id, status, gpu_model, \
         vram_gb, num_gpus, price_micros, location, endpoint, config, autostop_minutes, \
         idempotency_key, reason, created_at, running_at, last_used_at, ended_at"
    };
}

/// Inserts a row (as `creating`, before the provider is asked).
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &InstanceRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO instances (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    ))
    .bind(&row.id)
    .bind(row.user_id.to_string())
    .bind(&row.reservation_id)
    .bind(&row.provider)
    .bind(&row.offer_id)
    .bind(&row.provider_instance_id)
    .bind(&row.status)
    .bind(&row.gpu_model)
    .bind(row.vram_gb)
    .bind(row.num_gpus)
    .bind(row.price_micros)
    .bind(&row.location)
    .bind(&row.endpoint)
    .bind(&row.config)
    .bind(row.autostop_minutes)
    .bind(&row.idempotency_key)
    .bind(&row.reason)
    .bind(row.created_at)
    .bind(row.running_at)
    .bind(row.last_used_at)
    .bind(row.ended_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Returns row `id`.
pub async fn find<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
) -> Result<Option<InstanceRow>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", columns!(), " FROM instances WHERE id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await
}

/// Returns `user_id`'s instance known at `provider` as `provider_instance_id`; another user's is `None`.
pub async fn find_owned<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    provider: &str,
    provider_instance_id: &str,
) -> Result<Option<InstanceRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM instances WHERE user_id = $1 AND provider = $2 AND provider_instance_id = $3"
    ))
    .bind(user_id.to_string())
    .bind(provider)
    .bind(provider_instance_id)
    .fetch_optional(executor)
    .await
}

/// Returns `user_id`'s single create made with `key`.
pub async fn find_by_idempotency_key<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    key: &str,
) -> Result<Option<InstanceRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM instances WHERE user_id = $1 AND idempotency_key = $2"
    ))
    .bind(user_id.to_string())
    .bind(key)
    .fetch_optional(executor)
    .await
}

/// Returns `user_id`'s instances, oldest first; ended ones only when asked.
pub async fn list_by_user<'e>(
    executor: impl Executor<'e, Database = Any>,
    user_id: UserId,
    include_ended: bool,
) -> Result<Vec<InstanceRow>, sqlx::Error> {
    let query = if include_ended {
        concat!(
            "SELECT ",
            columns!(),
            " FROM instances WHERE user_id = $1 ORDER BY created_at, id"
        )
    } else {
        concat!(
            "SELECT ",
            columns!(),
            " FROM instances WHERE user_id = $1 AND status NOT IN ('terminated', 'failed') ORDER BY created_at, id"
        )
    };
    sqlx::query_as(query)
        .bind(user_id.to_string())
        .fetch_all(executor)
        .await
}

/// Returns a reservation's instances, oldest first.
pub async fn list_by_reservation<'e>(
    executor: impl Executor<'e, Database = Any>,
    reservation_id: &str,
) -> Result<Vec<InstanceRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM instances WHERE reservation_id = $1 ORDER BY created_at, id"
    ))
    .bind(reservation_id)
    .fetch_all(executor)
    .await
}

/// Returns every instance that has not ended (what may still run, and cost, at a provider).
pub async fn list_live<'e>(
    executor: impl Executor<'e, Database = Any>,
) -> Result<Vec<InstanceRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM instances WHERE status NOT IN ('terminated', 'failed') ORDER BY created_at, id"
    ))
    .fetch_all(executor)
    .await
}

/// Returns how many instances are running.
pub async fn count_running<'e>(executor: impl Executor<'e, Database = Any>) -> Result<i64, sqlx::Error> {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM instances WHERE status = 'running'")
        .fetch_one(executor)
        .await?;
    Ok(count)
}

/// Records the provider's id and status of a rent that went through. Only a `creating` row moves,
/// so a late answer never resurrects a row the reconciler already settled.
pub async fn mark_rented<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    provider_instance_id: &str,
    status: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE instances SET provider_instance_id = $2, status = $3, reason = NULL \
         WHERE id = $1 AND status = 'creating'",
    )
    .bind(id)
    .bind(provider_instance_id)
    .bind(status)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a row destroyed while its rent was in flight the provider's id, so its destroy can be
/// retried by id; returns whether it moved.
pub async fn attach_to_destroying<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    provider_instance_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE instances SET provider_instance_id = $2 \
         WHERE id = $1 AND status = 'destroying' AND provider_instance_id IS NULL",
    )
    .bind(id)
    .bind(provider_instance_id)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves a starting instance on (`pending` → `loading` → `running`), recording its endpoint.
pub async fn mark_started<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    status: &str,
    endpoint: Option<&str>,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE instances SET status = $2, endpoint = COALESCE($3, endpoint), \
         running_at = CASE WHEN $2 = 'running' THEN COALESCE(running_at, $4) ELSE running_at END \
         WHERE id = $1 AND status IN ('pending', 'loading', 'running')",
    )
    .bind(id)
    .bind(status)
    .bind(endpoint)
    .bind(now_ms)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes why a rent's outcome is unknown; the row stays `creating` for the reconciler.
pub async fn note_reason<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE instances SET reason = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(executor)
        .await?;
    Ok(())
}

/// Marks a row `destroying` (from any live state); returns whether it moved.
pub async fn mark_destroying<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE instances SET status = 'destroying', reason = $2 \
         WHERE id = $1 AND status NOT IN ('terminated', 'failed', 'destroying')",
    )
    .bind(id)
    .bind(reason)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a row: `terminated` (the provider confirmed it gone) or `failed` (it never ran). Returns
/// whether it moved; an ended row never moves again.
pub async fn mark_ended<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    status: &str,
    reason: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    debug_assert!(status == "terminated" || status == "failed");
    let done = sqlx::query(
        "UPDATE instances SET status = $2, reason = $3, ended_at = $4 \
         WHERE id = $1 AND status NOT IN ('terminated', 'failed')",
    )
    .bind(id)
    .bind(status)
    .bind(reason)
    .bind(now_ms)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores when an instance last served proxied traffic (never moves the time back).
pub async fn record_last_used<'e>(
    executor: impl Executor<'e, Database = Any>,
    id: &str,
    last_used_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE instances SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
    )
    .bind(id)
    .bind(last_used_ms)
    .execute(executor)
    .await?;
    Ok(())
}
