//! One user's instances: rent one offer, look them up, destroy them.

use gpuproxy_domain::{UserId, now_ms};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::events::v1::InstanceDestroyed;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;

use crate::domain::InstanceStatus;
use crate::error::Error;
use crate::launch::Launch;
use crate::rent::RentFor;
use crate::repo::instances::{self, InstanceRow};
use crate::service::{Reservations, event, hold_of};
use crate::view;

impl Reservations {
    /// Rents one offer for `request.user_id`. A repeated idempotency key returns the first instance.
    pub async fn create_instance(&self, request: pb::CreateInstanceRequest) -> Result<pb::Instance, Error> {
        let user_id: UserId = request.user_id.parse()?;
        let provider = provider(&request.provider)?;
        let offer_id = required("offer_id", &request.offer_id)?;
        let launch = Launch::from_proto(request.config)?;
        let key = Some(request.idempotency_key.trim()).filter(|key| !key.is_empty());
        if let Some(key) = key
            && let Some(existing) =
                instances::find_by_idempotency_key(self.database().pool(), user_id, key).await?
        {
            return Ok(self.view(&existing));
        }
        let offer = self
            .call(self.catalog().get_offer(catalog::GetOfferRequest {
                provider: provider.to_owned(),
                offer_id: offer_id.to_owned(),
            }))
            .await?;
        let row_id = uuid::Uuid::now_v7();
        let hold = hold_of(None, &row_id.to_string());
        self.admit(user_id, &hold, offer.price_micros_per_hour).await?;
        let owner = RentFor {
            user_id,
            reservation_id: None,
            idempotency_key: key,
            row_id: Some(row_id),
        };
        match self.rent(owner, &offer, &launch).await {
            Ok(row) => Ok(self.view(&row)),
            Err(failure) => {
                if !failure.outcome_unknown {
                    self.give_back(user_id, &hold, 0).await;
                }
                // A concurrent create with the same key got there first.
                if let Error::Db(db_error) = &failure.error
                    && gpuproxy_db::is_unique_violation(db_error)
                    && let Some(key) = key
                    && let Some(existing) =
                        instances::find_by_idempotency_key(self.database().pool(), user_id, key).await?
                {
                    return Ok(self.view(&existing));
                }
                Err(failure.error)
            }
        }
    }

    /// Returns `user_id`'s instance; another user's is `NOT_FOUND`.
    pub async fn get_instance(
        &self,
        user_id: UserId,
        provider_name: &str,
        instance_id: &str,
    ) -> Result<pb::Instance, Error> {
        let row = self.owned(user_id, provider_name, instance_id).await?;
        Ok(self.view(&row))
    }

    /// Returns `user_id`'s instances, oldest first.
    pub async fn list_instances(
        &self,
        user_id: UserId,
        include_ended: bool,
    ) -> Result<Vec<pb::Instance>, Error> {
        let rows = instances::list_by_user(self.database().pool(), user_id, include_ended).await?;
        Ok(rows.iter().map(|row| self.view(row)).collect())
    }

    /// Destroys `user_id`'s instance. Returns whether the provider confirmed it terminated; an
    /// instance that ended before is answered as terminated.
    pub async fn destroy_instance(
        &self,
        user_id: UserId,
        provider_name: &str,
        instance_id: &str,
    ) -> Result<bool, Error> {
        let row = self.owned(user_id, provider_name, instance_id).await?;
        if row.status.parse().is_ok_and(InstanceStatus::has_ended) {
            return Ok(true);
        }
        self.destroy_row(row, "destroyed by owner").await
    }

    /// Destroys the instance of `row` at its provider and, once the provider confirms, ends the row
    /// with `instance.destroyed`. Until then the row stays `destroying` and the reconciler retries, so
    /// an instance is never forgotten while it may still run. Returns whether it is confirmed gone.
    pub(crate) async fn destroy_row(&self, row: InstanceRow, reason: &str) -> Result<bool, Error> {
        instances::mark_destroying(self.database().pool(), &row.id, reason).await?;
        let Some(instance_id) = row.provider_instance_id.clone() else {
            // The rent's answer never arrived: the reconciler finds the instance by its label.
            return Ok(false);
        };
        self.balancer().remove(&instance_id);
        self.call(self.catalog().destroy_instance(catalog::DestroyInstanceRequest {
            provider: row.provider.clone(),
            instance_id: instance_id.clone(),
        }))
        .await?;
        self.end_row(&row, InstanceStatus::Terminated, reason).await?;
        Ok(true)
    }

    /// Ends a row (`terminated` or `failed`) with `instance.destroyed` when it had been rented.
    pub(crate) async fn end_row(
        &self,
        row: &InstanceRow,
        status: InstanceStatus,
        reason: &str,
    ) -> Result<(), Error> {
        let mut transaction = self.begin().await?;
        let moved =
            instances::mark_ended(&mut *transaction, &row.id, status.as_str(), reason, now_ms()).await?;
        let mut events = Vec::new();
        if moved && let Some(instance_id) = &row.provider_instance_id {
            events.push(event(
                names::INSTANCE_DESTROYED,
                &InstanceDestroyed {
                    user_id: row.user_id.to_string(),
                    instance_id: instance_id.clone(),
                    provider: row.provider.clone(),
                    reservation_id: row.reservation_id.clone().unwrap_or_default(),
                    reason: reason.to_owned(),
                },
            )?);
            self.balancer().remove(instance_id);
        }
        self.commit_with_events(transaction, &events).await?;
        if moved {
            tracing::info!(user_id = %row.user_id, provider = row.provider, instance_id = ?row.provider_instance_id, reason, "instance ended");
            // What a single instance's hold has left was never going to be spent. A reservation's
            // hold is shared by its instances and expires within the hour.
            if row.reservation_id.is_none() {
                self.give_back(row.user_id, &hold_of(None, &row.id), 0).await;
            }
        }
        Ok(())
    }

    async fn owned(
        &self,
        user_id: UserId,
        provider_name: &str,
        instance_id: &str,
    ) -> Result<InstanceRow, Error> {
        let provider = provider(provider_name)?;
        let instance_id = required("instance_id", instance_id)?;
        instances::find_owned(self.database().pool(), user_id, provider, instance_id)
            .await?
            .ok_or_else(|| Error::not_found("instance", format!("{provider}/{instance_id}")))
    }

    fn view(&self, row: &InstanceRow) -> pb::Instance {
        let last_used = row
            .provider_instance_id
            .as_deref()
            .and_then(|id| self.balancer().last_used_ms(id));
        view::instance(row, last_used)
    }
}

/// Returns the provider's canonical name.
fn provider(text: &str) -> Result<&'static str, Error> {
    text.parse::<gpuproxy_domain::Provider>()
        .map(gpuproxy_domain::Provider::as_str)
        .map_err(|_| Error::invalid("provider", "must be vast.ai or io.net"))
}

fn required<'a>(field: &'static str, text: &'a str) -> Result<&'a str, Error> {
    let text = text.trim();
    if text.is_empty() || text.len() > 128 {
        return Err(Error::invalid(field, "is required and at most 128 characters"));
    }
    Ok(text)
}
