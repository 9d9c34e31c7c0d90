//! Metering: every instance's run time is billed by the minute at its hourly price. A minute's
//! cost is never rounded on its own: the first N minutes always cost floor(N·P/60) in all, so the
//! bill is exact to the micro-dollar however the minutes are split into records.

use gpuproxy_domain::UserId;
use gpuproxy_proto::gpuproxy::billing::v1 as billing;

use crate::error::Error;
use crate::repo::instances;
use crate::repo::metering::{self, MeteredRow};
use crate::service::{Reservations, hold_of};

const MINUTE_MS: i64 = 60_000;

/// What `minutes` of run time at `price_per_hour` cost in all.
pub fn cost_of_minutes(minutes: i64, price_per_hour: i64) -> i64 {
    i64::try_from(i128::from(minutes) * i128::from(price_per_hour) / 60).unwrap_or(i64::MAX)
}

/// Whole minutes an instance has run by `now`: started minutes count once it ended.
fn minutes_run(row: &MeteredRow, now: i64) -> i64 {
    match row.ended_at {
        Some(ended) => ((ended - row.running_at).max(0) + MINUTE_MS - 1) / MINUTE_MS,
        None => (now - row.running_at).max(0) / MINUTE_MS,
    }
}

impl Reservations {
    /// Bills the run time of every instance up to `now`; returns how many instances were billed.
    /// Each record's idempotency key names the first minute it covers, so a retry after a lost
    /// answer bills nothing twice.
    pub async fn meter_usage(&self, now: i64) -> Result<usize, Error> {
        let Some(spending) = self.inner.spending.clone() else {
            return Ok(0);
        };
        let mut billed = 0;
        for row in metering::unbilled(self.database().pool()).await? {
            let minutes = minutes_run(&row, now);
            if minutes <= row.metered_minutes {
                if row.ended_at.is_some() {
                    metering::set_metered(self.database().pool(), &row.id, row.metered_minutes, true).await?;
                }
                continue;
            }
            let cost = cost_of_minutes(minutes, row.price_micros)
                - cost_of_minutes(row.metered_minutes, row.price_micros);
            let recorded = spending
                .bill(billing::RecordUsageRequest {
                    user_id: row.user_id.to_string(),
                    cost_micros: cost,
                    client_id: "reservation-meter".to_owned(),
                    started_at_ms: row.running_at + row.metered_minutes * MINUTE_MS,
                    duration_ms: (minutes - row.metered_minutes) * MINUTE_MS,
                    description: format!(
                        "{} minutes of instance {}",
                        minutes - row.metered_minutes,
                        row.instance_id
                    ),
                    idempotency_key: format!("instance:{}:{}", row.id, row.metered_minutes),
                    kind: "instance".to_owned(),
                    instance_id: row.instance_id.clone(),
                    hold_id: hold_of(row.reservation_id.as_deref(), &row.id),
                    ..billing::RecordUsageRequest::default()
                })
                .await?;
            // A replayed key answers with the first record, which may cover fewer minutes.
            let covered = recorded
                .usage
                .as_ref()
                .map_or(0, |usage| usage.duration_ms / MINUTE_MS);
            let metered = row.metered_minutes + covered;
            metering::set_metered(
                self.database().pool(),
                &row.id,
                metered,
                row.ended_at.is_some() && metered >= minutes,
            )
            .await?;
            billed += 1;
            if recorded.cap_reached && self.inner.stop_at_cap {
                self.stop_user_instances(row.user_id).await;
            }
        }
        Ok(billed)
    }

    /// Destroys every live instance of a user whose balance reached the cap.
    async fn stop_user_instances(&self, user_id: UserId) {
        let rows = match instances::list_by_user(self.database().pool(), user_id, false).await {
            Ok(rows) => rows,
            Err(error) => {
                tracing::warn!(%error, %user_id, "listing instances to stop at the credit cap failed");
                return;
            }
        };
        for row in rows.into_iter().filter(|row| row.status != "destroying") {
            tracing::info!(%user_id, instance = %row.id, "stopping an instance: the credits reached the cap");
            if let Err(error) = self.destroy_row(row, "credits exhausted").await {
                tracing::warn!(%error, %user_id, "stopping an instance at the credit cap failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cost_of_minutes;

    #[test]
    fn minutes_split_any_way_cost_the_same_as_all_at_once() {
        let price = 1_234_567;
        let split: i64 = [(0, 7), (7, 8), (8, 61), (61, 90)]
            .iter()
            .map(|(from, to)| cost_of_minutes(*to, price) - cost_of_minutes(*from, price))
            .sum();
        assert_eq!(split, cost_of_minutes(90, price));
        assert_eq!(cost_of_minutes(90, price), 90 * price / 60);
    }
}
