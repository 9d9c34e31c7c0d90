//! Making our records and the providers agree, so that no paid instance is ever leaked.
//!
//! Runs at start-up and every `RECONCILE_INTERVAL`. For each provider it compares the instances
//! carrying our label with our live rows:
//! - an instance whose label names a `creating` row (the rent's answer was lost, say in a crash) is
//!   adopted: the row gets its id and is followed to `running`;
//! - an instance whose label names no live row is an orphan and is destroyed;
//! - a `destroying` row is destroyed again until the provider confirms;
//! - a rented row the provider no longer lists is ended (`gone at the provider`);
//! - a `creating` row with no instance, older than the longest a rent can take, failed.
//!
//! Instances without our label are somebody else's (the same account may rent by hand) and are
//! never touched. Rows this process is renting right now are left alone.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use gpuproxy_domain::{Provider, now_ms};
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;

use crate::domain::InstanceStatus;
use crate::error::Error;
use crate::repo::instances::{self, InstanceRow};
use crate::service::Reservations;

/// What one reconciliation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// `creating` rows whose instance was found and adopted.
    pub adopted: usize,
    /// Labelled instances with no live row, destroyed.
    pub orphans_destroyed: usize,
    /// Rows whose instance the provider no longer has.
    pub gone: usize,
    /// `creating` rows with no instance, failed.
    pub failed: usize,
    /// `destroying` rows whose destroy was retried and confirmed.
    pub destroyed: usize,
    /// Providers that could not be listed (disabled or failing); their rows were left as they were.
    pub skipped_providers: Vec<String>,
}

/// What a listing can vouch for: rows created before it began, and not renting while it ran.
#[derive(Debug)]
struct Settled {
    started_ms: i64,
    renting: HashSet<String>,
}

impl Reconciled {
    /// Returns whether any row or instance was touched.
    pub fn changed_anything(&self) -> bool {
        self.adopted + self.orphans_destroyed + self.gone + self.failed + self.destroyed > 0
    }
}

impl Reservations {
    /// Reconciles every provider once.
    pub async fn reconcile(&self) -> Result<Reconciled, Error> {
        let mut report = Reconciled::default();
        for provider in Provider::ALL {
            // Rows are read after the listing, so every labelled instance listed has its row in view;
            // rows created or renting since the listing began are left for the next run.
            let started_ms = now_ms();
            let renting = self.in_flight_snapshot();
            let listed = self
                .call(self.catalog().list_instances(catalog::ListInstancesRequest {
                    provider: provider.as_str().to_owned(),
                }))
                .await;
            match listed {
                Ok(listed) => {
                    let settled = Settled { started_ms, renting };
                    self.reconcile_provider(provider, listed.instances, &settled, &mut report)
                        .await?;
                }
                Err(error) => {
                    tracing::debug!(%provider, %error, "not reconciling a provider that cannot be listed");
                    report.skipped_providers.push(provider.as_str().to_owned());
                }
            }
        }
        if report.changed_anything() {
            tracing::info!(?report, "reconciled records with the providers");
        }
        Ok(report)
    }

    async fn reconcile_provider(
        &self,
        provider: Provider,
        listed: Vec<catalog::ProviderInstance>,
        settled: &Settled,
        report: &mut Reconciled,
    ) -> Result<(), Error> {
        let rows: Vec<InstanceRow> = instances::list_live(self.database().pool())
            .await?
            .into_iter()
            .filter(|row| {
                row.provider == provider.as_str()
                    && row.created_at < settled.started_ms
                    && !settled.renting.contains(&row.id)
                    && !self.is_in_flight(&row.id)
            })
            .collect();
        let by_id: HashMap<&str, &InstanceRow> = rows.iter().map(|row| (row.id.as_str(), row)).collect();
        // Only a terminated instance is gone: a failed or stopping one may still hold (and bill) disk.
        let alive: Vec<&catalog::ProviderInstance> = listed
            .iter()
            .filter(|instance| instance.status != "terminated")
            .collect();
        let broken: HashSet<&str> = alive
            .iter()
            .filter(|instance| matches!(instance.status.as_str(), "failed" | "stopping"))
            .map(|instance| instance.instance_id.as_str())
            .collect();
        let listed_ids: HashSet<&str> = alive
            .iter()
            .map(|instance| instance.instance_id.as_str())
            .collect();
        let mut claimed_rows = HashSet::new();

        for instance in &alive {
            let Some(row_id) = instance
                .labels
                .get("label")
                .and_then(|label| self.inner.labels.row_of(label))
            else {
                continue;
            };
            let row_id = row_id.to_string();
            if settled.renting.contains(&row_id) || self.is_in_flight(&row_id) {
                continue;
            }
            match by_id.get(row_id.as_str()) {
                Some(row) if row.provider_instance_id.as_deref() == Some(instance.instance_id.as_str()) => {
                    claimed_rows.insert(row.id.clone());
                }
                Some(row) if row.status == "creating" => {
                    claimed_rows.insert(row.id.clone());
                    self.adopt(row, instance).await?;
                    report.adopted += 1;
                }
                Some(row) if row.status == "destroying" && row.provider_instance_id.is_none() => {
                    // Destroyed by its owner before the rent's answer arrived.
                    claimed_rows.insert(row.id.clone());
                    if self.destroy_labelled(provider, &instance.instance_id).await {
                        let row = InstanceRow {
                            provider_instance_id: Some(instance.instance_id.clone()),
                            ..(*row).clone()
                        };
                        let reason = row.reason.clone().unwrap_or_else(|| "destroyed".to_owned());
                        self.end_row(&row, InstanceStatus::Terminated, &reason).await?;
                        report.destroyed += 1;
                    }
                }
                // Labelled by us, but no live row this run vouches for has it.
                _ => {
                    let row = instances::find(self.database().pool(), &row_id).await?;
                    if row.is_some_and(|row| !row.status.parse().is_ok_and(InstanceStatus::has_ended)) {
                        // A row too new for this run (or renting): the next run decides.
                        continue;
                    }
                    // Its row failed or ended, or never existed: an orphan.
                    if self.destroy_labelled(provider, &instance.instance_id).await {
                        tracing::warn!(%provider, instance_id = instance.instance_id, "destroyed an orphaned instance");
                        report.orphans_destroyed += 1;
                    }
                }
            }
        }

        let creating_grace = self
            .inner
            .catalog_call_timeout
            .saturating_mul(2)
            .max(Duration::from_secs(1));
        for row in &rows {
            match (row.status.as_str(), &row.provider_instance_id) {
                (status, Some(instance_id))
                    if status != "destroying" && broken.contains(instance_id.as_str()) =>
                {
                    let reason = "the provider reports it failed or stopping".to_owned();
                    if self.destroy_row(row.clone(), &reason).await.unwrap_or(false) {
                        report.gone += 1;
                    }
                }
                ("destroying", Some(instance_id)) if listed_ids.contains(instance_id.as_str()) => {
                    let reason = row.reason.clone().unwrap_or_else(|| "destroyed".to_owned());
                    if self.destroy_row(row.clone(), &reason).await.unwrap_or(false) {
                        report.destroyed += 1;
                    }
                }
                (_, Some(instance_id)) if !listed_ids.contains(instance_id.as_str()) => {
                    let (status, reason) = if row.status == "destroying" {
                        (
                            InstanceStatus::Terminated,
                            row.reason.clone().unwrap_or_else(|| "destroyed".to_owned()),
                        )
                    } else if row.status == "running" {
                        (InstanceStatus::Terminated, "gone at the provider".to_owned())
                    } else {
                        (
                            InstanceStatus::Failed,
                            "gone at the provider before it ran".to_owned(),
                        )
                    };
                    self.end_row(row, status, &reason).await?;
                    report.gone += 1;
                }
                ("creating" | "destroying", None) if !claimed_rows.contains(&row.id) => {
                    let age = row.age(now_ms());
                    if age > creating_grace {
                        self.end_row(row, InstanceStatus::Failed, "the rent did not go through")
                            .await?;
                        report.failed += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn adopt(&self, row: &InstanceRow, instance: &catalog::ProviderInstance) -> Result<(), Error> {
        tracing::warn!(
            row_id = row.id,
            provider = row.provider,
            instance_id = instance.instance_id,
            "adopting an instance whose rent was interrupted"
        );
        self.record_rent(row.clone(), instance).await.map(drop)
    }

    /// Destroys an instance found by its label; returns whether the provider confirmed.
    async fn destroy_labelled(&self, provider: Provider, instance_id: &str) -> bool {
        let destroyed = self
            .call(self.catalog().destroy_instance(catalog::DestroyInstanceRequest {
                provider: provider.as_str().to_owned(),
                instance_id: instance_id.to_owned(),
            }))
            .await;
        match destroyed {
            Ok(_) => true,
            Err(error) => {
                tracing::warn!(%provider, instance_id, %error, "destroying a labelled instance failed; retried next time");
                false
            }
        }
    }
}
