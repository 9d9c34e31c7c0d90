//! Renting one offer: the row first, then the provider, then the row again with the answer.
//!
//! Writing the row before the rent, with its id as the provider-side label, is what makes a crash
//! recoverable: whatever the provider did, the reconciler can find the instance by its label.

use gpuproxy_domain::{UserId, now_ms};
use gpuproxy_errors::ErrorCode;
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::events::v1::InstanceCreated;
use uuid::Uuid;

use crate::balancer::Member;
use crate::domain::{InstanceStatus, weight_of};
use crate::error::Error;
use crate::launch::{Launch, stored};
use crate::repo::instances::{self, InstanceRow};
use crate::service::{Reservations, event};

/// Who a rent is for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RentFor<'a> {
    /// The owner.
    pub user_id: UserId,
    /// The reservation, if the rent is part of one.
    pub reservation_id: Option<&'a str>,
    /// A single create's idempotency key.
    pub idempotency_key: Option<&'a str>,
    /// The row's id when chosen before the rent (a single create's hold is named after it).
    pub row_id: Option<Uuid>,
}

/// A rent that did not (surely) go through.
#[derive(Debug)]
pub(crate) struct RentFailure {
    /// What the catalog said.
    pub error: Error,
    /// Whether the provider may have rented anyway (a timeout, a 5xx): the row stays `creating`
    /// for the reconciler, and the slot must not be filled twice.
    pub outcome_unknown: bool,
}

impl Reservations {
    /// Rents `offer` for `owner`. The returned row is `pending`, `loading` or `running`.
    pub(crate) async fn rent(
        &self,
        owner: RentFor<'_>,
        offer: &catalog::Offer,
        launch: &Launch,
    ) -> Result<InstanceRow, RentFailure> {
        let row_id = owner.row_id.unwrap_or_else(Uuid::now_v7);
        let row = InstanceRow {
            id: row_id.to_string(),
            user_id: owner.user_id.to_owned(),
            reservation_id: owner.reservation_id.map(str::to_owned),
            provider: offer.provider.clone(),
            offer_id: offer.offer_id.clone(),
            provider_instance_id: None,
            status: InstanceStatus::Creating.as_str().to_owned(),
            gpu_model: offer.gpu_model.clone(),
            vram_gb: i64::from(offer.vram_gb),
            num_gpus: i64::from(offer.num_gpus),
            price_micros: offer.price_micros_per_hour,
            location: offer.location.clone(),
            endpoint: None,
            config: launch.stored_json(),
            autostop_minutes: i64::from(launch.autostop_minutes),
            idempotency_key: owner.idempotency_key.map(str::to_owned),
            reason: None,
            created_at: now_ms(),
            running_at: None,
            last_used_at: None,
            ended_at: None,
        };
        let known = |error: Error| RentFailure {
            error,
            outcome_unknown: false,
        };
        let _in_flight = self.in_flight(&row.id);
        instances::insert(self.database().pool(), &row)
            .await
            .map_err(|error| known(error.into()))?;
        let request = catalog::CreateInstanceRequest {
            provider: offer.provider.clone(),
            offer_id: offer.offer_id.clone(),
            image: launch.image.clone(),
            env: launch.env.clone(),
            ports: launch.ports.clone(),
            disk_gb: launch.disk_gb,
            labels: [("label".to_owned(), self.inner.labels.label_of(row_id))].into(),
            // The catalog shares one provider call among creates with one key, so a rent retried
            // for the same row never rents twice.
            idempotency_key: row.id.clone(),
        };
        match self.call(self.catalog().create_instance(request)).await {
            Ok(rented) => self.record_rent(row, &rented).await.map_err(|error| RentFailure {
                error,
                outcome_unknown: true,
            }),
            Err(error) if surely_nothing_rented(&error) => {
                self.settle_failed(&row.id, &error.to_string()).await;
                Err(known(error))
            }
            // The provider may have rented anyway: ask it. Found, the slot is filled; absent, the
            // row fails and a late instance carrying its label is destroyed by the reconciler.
            Err(error) => match self
                .find_labelled(&offer.provider, &self.inner.labels.label_of(row_id))
                .await
            {
                Ok(Some(found)) => {
                    tracing::info!(row_id = row.id, %error, "a create that failed had rented; kept");
                    self.record_rent(row, &found).await.map_err(|error| RentFailure {
                        error,
                        outcome_unknown: true,
                    })
                }
                Ok(None) => {
                    self.settle_failed(&row.id, &format!("nothing was rented: {error}"))
                        .await;
                    Err(known(error))
                }
                Err(lookup) => {
                    let reason = format!("outcome unknown: {error}; looking it up failed: {lookup}");
                    if let Err(db_error) =
                        instances::note_reason(self.database().pool(), &row.id, &reason).await
                    {
                        tracing::warn!(row_id = row.id, %db_error, "noting an unknown rent failed");
                    }
                    Err(RentFailure {
                        error,
                        outcome_unknown: true,
                    })
                }
            },
        }
    }

    /// Marks a row whose rent surely failed; a database failure leaves it to the reconciler.
    async fn settle_failed(&self, row_id: &str, reason: &str) {
        let ended = instances::mark_ended(
            self.database().pool(),
            row_id,
            InstanceStatus::Failed.as_str(),
            reason,
            now_ms(),
        )
        .await;
        if let Err(db_error) = ended {
            tracing::warn!(row_id, %db_error, "recording a failed rent failed; the reconciler will settle it");
        }
    }

    /// Returns the instance at `provider` that carries `label`, if any.
    pub(crate) async fn find_labelled(
        &self,
        provider: &str,
        label: &str,
    ) -> Result<Option<catalog::ProviderInstance>, Error> {
        let listed = self
            .call(self.catalog().list_instances(catalog::ListInstancesRequest {
                provider: provider.to_owned(),
            }))
            .await?;
        Ok(listed.instances.into_iter().find(|instance| {
            instance.labels.get("label").is_some_and(|found| found == label)
                && instance.status != "terminated"
        }))
    }

    /// Records what the provider answered to a rent, with `instance.created`, in one transaction.
    pub(crate) async fn record_rent(
        &self,
        mut row: InstanceRow,
        rented: &catalog::ProviderInstance,
    ) -> Result<InstanceRow, Error> {
        let status = InstanceStatus::from_provider(&rented.status).unwrap_or(InstanceStatus::Pending);
        // A rent is followed to `running` by the follower, which also records the endpoint.
        let status = if status == InstanceStatus::Running {
            InstanceStatus::Loading
        } else {
            status
        };
        let mut transaction = self.begin().await?;
        let moved =
            instances::mark_rented(&mut *transaction, &row.id, &rented.instance_id, status.as_str()).await?;
        if !moved {
            transaction.rollback().await?;
            // Destroyed (or released) while the rent was in flight: give the row the instance's id
            // and destroy it now; the reconciler retries when this fails.
            let attached =
                instances::attach_to_destroying(self.database().pool(), &row.id, &rented.instance_id).await?;
            if attached && let Some(stored) = instances::find(self.database().pool(), &row.id).await? {
                let reason = stored.reason.clone().unwrap_or_else(|| "destroyed".to_owned());
                if let Err(error) = self.destroy_row(stored, &reason).await {
                    tracing::warn!(row_id = row.id, %error, "destroying an instance released while renting failed; retried later");
                }
            }
            return Err(Error::invalid(
                "reservation",
                "was released while this instance was being rented; the instance is destroyed",
            ));
        }
        let created = event(
            names::INSTANCE_CREATED,
            &InstanceCreated {
                user_id: row.user_id.to_string(),
                instance_id: rented.instance_id.clone(),
                provider: row.provider.clone(),
                offer_id: row.offer_id.clone(),
                reservation_id: row.reservation_id.clone().unwrap_or_default(),
                gpu_model: row.gpu_model.clone(),
                price_micros_per_hour: row.price_micros,
            },
        )?;
        self.commit_with_events(transaction, std::slice::from_ref(&created))
            .await?;
        tracing::info!(
            user_id = %row.user_id,
            provider = row.provider,
            instance_id = rented.instance_id,
            "instance rented"
        );
        row.provider_instance_id = Some(rented.instance_id.clone());
        row.status = status.as_str().to_owned();
        Ok(row)
    }

    /// Puts a running instance in its owner's rotation.
    pub(crate) fn join_rotation(&self, row: &InstanceRow) {
        let (Some(instance_id), Some(endpoint)) = (&row.provider_instance_id, &row.endpoint) else {
            return;
        };
        self.balancer().add(
            row.user_id,
            Member {
                row_id: row.id.clone(),
                instance_id: instance_id.clone(),
                provider: row.provider.clone(),
                base_url: endpoint.clone(),
                weight: weight_of(row.vram_gb, row.price_micros),
            },
        );
    }
}

/// Returns the endpoint traffic should go to: the first configured port's, else any.
pub(crate) fn endpoint_of(row: &InstanceRow, rented: &catalog::ProviderInstance) -> Option<String> {
    let launch = stored(&row.config);
    launch
        .ports
        .first()
        .and_then(|port| rented.ports.get(&port.to_string()))
        .or_else(|| {
            let mut ports: Vec<(&String, &String)> = rented.ports.iter().collect();
            ports.sort();
            ports.first().map(|(_, url)| *url)
        })
        .cloned()
}

/// Whether a failed create surely rented nothing, so another offer may be tried for the slot.
fn surely_nothing_rented(error: &Error) -> bool {
    let code = match error {
        Error::Catalog {
            nothing_done: true, ..
        } => return true,
        Error::Catalog { code, .. } => *code,
        // Our own database failed before the provider was asked.
        Error::Db(_) | Error::InvalidField { .. } => return true,
        _ => return false,
    };
    matches!(
        code,
        ErrorCode::ValidationFailed
            | ErrorCode::NotFound
            | ErrorCode::OfferUnavailable
            | ErrorCode::ProviderRejected
            | ErrorCode::RateLimited
            | ErrorCode::SpendingLimitExceeded
    )
}
