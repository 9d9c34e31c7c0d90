//! Idle stop: destroying instances that served no proxied traffic for their `autostop_minutes`,
//! because a forgotten GPU is the most common way a GPU bill runs away.

use crate::error::Error;
use crate::repo::instances;
use crate::service::Reservations;

impl Reservations {
    /// Destroys every running instance idle for longer than its `autostop_minutes` at `now_ms`, and
    /// stores the balancer's last-use times so that idleness survives a restart. An instance with a
    /// request in flight is never idle. Returns how many were destroyed.
    pub async fn stop_idle_instances(&self, now_ms: i64) -> Result<usize, Error> {
        let rows = instances::list_live(self.database().pool()).await?;
        let mut stopped = 0;
        for row in rows.into_iter().filter(|row| row.status == "running") {
            let Some(instance_id) = row.provider_instance_id.clone() else {
                continue;
            };
            let in_memory = self.balancer().last_used_ms(&instance_id);
            if let Some(last_used) = in_memory
                && row.last_used_at.is_none_or(|stored| stored < last_used)
            {
                instances::record_last_used(self.database().pool(), &row.id, last_used).await?;
            }
            if row.autostop_minutes <= 0 || self.balancer().is_busy(&instance_id) {
                continue;
            }
            let last_activity = [in_memory, row.last_used_at, row.running_at, Some(row.created_at)]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(row.created_at);
            let idle_ms = now_ms.saturating_sub(last_activity);
            if idle_ms > row.autostop_minutes.saturating_mul(60_000) {
                let unit = if row.autostop_minutes == 1 {
                    "minute"
                } else {
                    "minutes"
                };
                let reason = format!("idle for {} {unit}", row.autostop_minutes);
                match self.destroy_row(row, &reason).await {
                    Ok(true) => stopped += 1,
                    Ok(false) => {}
                    Err(error) => {
                        tracing::warn!(instance_id, %error, "stopping an idle instance failed; retried next time")
                    }
                }
            }
        }
        Ok(stopped)
    }
}
