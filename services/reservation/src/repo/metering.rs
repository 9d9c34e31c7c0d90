//! `instance_metering`: the run time already billed per instance.

use gpuproxy_db::Any;
use gpuproxy_domain::UserId;
use sqlx::Executor;

/// An instance with run time to bill.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MeteredRow {
    /// The instance.
    pub id: String,
    /// Its owner.
    #[sqlx(try_from = "String")]
    pub user_id: UserId,
    /// The reservation it was rented in, if any.
    pub reservation_id: Option<String>,
    /// The id its owner knows it by: the provider's, once rented.
    pub instance_id: String,
    /// Micro-dollars per hour.
    pub price_micros: i64,
    /// Unix ms it started running.
    pub running_at: i64,
    /// Unix ms it ended, once it has.
    pub ended_at: Option<i64>,
    /// Whole minutes billed so far.
    pub metered_minutes: i64,
}

/// Returns instances that ran and are not fully billed.
pub async fn unbilled<'e>(
    executor: impl Executor<'e, Database = Any>,
) -> Result<Vec<MeteredRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.id, i.user_id, i.reservation_id, COALESCE(i.provider_instance_id, i.id) AS instance_id, i.price_micros, i.running_at, i.ended_at, \
         CAST(COALESCE(m.metered_minutes, 0) AS BIGINT) AS metered_minutes \
         FROM instances i LEFT JOIN instance_metering m ON m.instance_id = i.id \
         WHERE i.running_at IS NOT NULL AND COALESCE(m.done, 0) = 0",
    )
    .fetch_all(executor)
    .await
}

/// Records that `minutes` of the instance are billed (`done` once it ended and all are).
pub async fn set_metered<'e>(
    executor: impl Executor<'e, Database = Any>,
    instance_id: &str,
    minutes: i64,
    done: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_metering (instance_id, metered_minutes, done) VALUES ($1, $2, $3) \
         ON CONFLICT (instance_id) DO UPDATE SET metered_minutes = excluded.metered_minutes, done = excluded.done",
    )
    .bind(instance_id)
    .bind(minutes)
    .bind(i64::from(done))
    .execute(executor)
    .await?;
    Ok(())
}
