//! Following rented instances until they run: their status and endpoint, a start-up deadline, and
//! health probes of the running ones.

use gpuproxy_domain::now_ms;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;

use crate::domain::InstanceStatus;
use crate::error::Error;
use crate::rent::endpoint_of;
use crate::repo::instances::{self, InstanceRow};
use crate::service::Reservations;

impl Reservations {
    /// Looks up every starting instance once: records the ones now running (and puts them in their
    /// owner's rotation), ends the ones the provider lost, and destroys the ones past
    /// `INSTANCE_START_TIMEOUT`. Returns how many started.
    pub async fn follow_starting_instances(&self) -> Result<usize, Error> {
        let rows = instances::list_live(self.database().pool()).await?;
        let starting: Vec<InstanceRow> = rows
            .into_iter()
            .filter(|row| matches!(row.status.as_str(), "pending" | "loading"))
            .collect();
        let outcomes = futures::future::join_all(starting.into_iter().map(|row| self.follow(row))).await;
        let mut started = 0;
        for outcome in outcomes {
            match outcome {
                Ok(true) => started += 1,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "following a starting instance failed"),
            }
        }
        Ok(started)
    }

    async fn follow(&self, row: InstanceRow) -> Result<bool, Error> {
        let Some(instance_id) = row.provider_instance_id.clone() else {
            return Ok(false);
        };
        let looked_up = self
            .call(self.catalog().get_instance(catalog::GetInstanceRequest {
                provider: row.provider.clone(),
                instance_id,
            }))
            .await;
        let found = match looked_up {
            Ok(found) => found,
            Err(Error::Catalog {
                code: ErrorCode::NotFound,
                ..
            }) => {
                self.end_row(&row, InstanceStatus::Failed, "gone at the provider before it ran")
                    .await?;
                return Ok(false);
            }
            Err(error) => return Err(error),
        };
        match found.status.as_str() {
            "terminated" => {
                self.end_row(&row, InstanceStatus::Failed, "gone at the provider before it ran")
                    .await?;
                return Ok(false);
            }
            // Exited, offline or stuck tearing down: it may still hold (and bill) disk, and may come
            // back, so it is destroyed, not merely forgotten.
            "failed" | "stopping" => {
                let reason = format!("the provider reports it {}", found.status);
                self.destroy_row(row, &reason).await?;
                return Ok(false);
            }
            _ => {}
        }
        let status = InstanceStatus::from_provider(&found.status).unwrap_or(InstanceStatus::Pending);
        let endpoint = endpoint_of(&row, &found);
        if status == InstanceStatus::Running && endpoint.is_some() {
            let row = InstanceRow {
                status: status.as_str().to_owned(),
                endpoint,
                ..row
            };
            // In the rotation before the row says running, so that whoever sees it running can
            // route to it at once. A destroy that began before the update leaves the row as it is
            // (not moved, below); one that begins after it finds the instance in the rotation.
            self.join_rotation(&row);
            let leave_rotation = || {
                if let Some(instance_id) = &row.provider_instance_id {
                    self.balancer().remove(instance_id);
                }
            };
            let moved = instances::mark_started(
                self.database().pool(),
                &row.id,
                &row.status,
                row.endpoint.as_deref(),
                now_ms(),
            )
            .await
            .inspect_err(|_| leave_rotation())?;
            if !moved {
                // Its owner (or the reconciler) began destroying it while the provider answered.
                leave_rotation();
                return Ok(false);
            }
            tracing::info!(user_id = %row.user_id, provider = row.provider, instance_id = ?row.provider_instance_id, "instance running");
            return Ok(true);
        }
        if row.age(now_ms()) > self.inner.periods.start_timeout {
            let reason = format!(
                "did not start within {}s",
                self.inner.periods.start_timeout.as_secs()
            );
            self.destroy_row(row, &reason).await?;
            return Ok(false);
        }
        if status.as_str() != row.status {
            instances::mark_started(self.database().pool(), &row.id, status.as_str(), None, now_ms()).await?;
        }
        Ok(false)
    }

    /// Probes `GET /health` of every instance in a rotation; a failed probe takes the instance out
    /// until a later probe or request succeeds.
    pub async fn probe_running_instances(&self) {
        let members = self.balancer().members();
        let probes = members.into_iter().map(|member| async move {
            let healthy = self
                .inner
                .probe_client
                .get(format!("{}/health", member.base_url.trim_end_matches('/')))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if !healthy {
                tracing::info!(
                    instance_id = member.instance_id,
                    "instance failed its health probe"
                );
            }
            self.balancer().probed(&member.instance_id, healthy);
        });
        futures::future::join_all(probes).await;
    }

    /// Returns how many instances run now, every user together.
    pub async fn count_running(&self) -> Result<i64, Error> {
        Ok(instances::count_running(self.database().pool()).await?)
    }

    /// Puts every running instance in its owner's rotation (at start-up).
    pub async fn restore_rotations(&self) -> Result<usize, Error> {
        let rows = instances::list_live(self.database().pool()).await?;
        let mut restored = 0;
        for row in rows.iter().filter(|row| row.status == "running") {
            self.join_rotation(row);
            restored += 1;
        }
        Ok(restored)
    }
}
