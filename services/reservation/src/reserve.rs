//! Reserving up to 16 GPUs at once: pick offers with the user's strategy, rent them in parallel,
//! fall back to the next offer when one fails, and report what could not be filled.

use std::collections::VecDeque;
use std::sync::Mutex;

use futures::StreamExt;
use gpuproxy_domain::{UserId, now_ms};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::events::v1::{ReservationCreated, ReservationPartial};
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;

use crate::domain::order_offers;
use crate::error::Error;
use crate::launch::Launch;
use crate::rent::RentFor;
use crate::repo::instances::InstanceRow;
use crate::repo::{instances, reservations};
use crate::service::{Reservations, event, hold_of};
use crate::view;

/// The most GPUs one reservation may ask for.
pub const MAX_RESERVATION: i32 = 16;

/// Offers one listing asks the catalog for; a reservation tries at most this many.
const CANDIDATES: i32 = 500;

impl Reservations {
    /// Reserves `request.count` GPUs for `request.user_id`. Refuses before renting anything when the
    /// count is out of range or fewer offers match; otherwise returns what it rented and one error
    /// line per slot it could not fill. A repeated idempotency key returns the first reservation.
    pub async fn reserve(&self, request: pb::ReserveRequest) -> Result<pb::ReserveResponse, Error> {
        let user_id: UserId = request.user_id.parse()?;
        if !(1..=MAX_RESERVATION).contains(&request.count) {
            return Err(Error::invalid(
                "count",
                format!("must be between 1 and {MAX_RESERVATION}, not {}", request.count),
            ));
        }
        let count = usize::try_from(request.count).unwrap_or(1);
        let launch = Launch::from_proto(request.config)?;
        let key = Some(request.idempotency_key.trim()).filter(|key| !key.is_empty());
        if let Some(key) = key
            && let Some(existing) =
                reservations::find_by_idempotency_key(self.database().pool(), user_id, key).await?
        {
            return self.reservation_view(existing).await;
        }
        let strategy = self.balancer().strategy(user_id);
        let listing = self
            .call(self.catalog().list_offers(catalog::ListOffersRequest {
                filters: request.filters,
                limit: CANDIDATES,
                sort: "price".to_owned(),
                ..catalog::ListOffersRequest::default()
            }))
            .await?;
        if listing.offers.len() < count {
            return Err(Error::InsufficientOffers {
                available: listing.offers.len(),
                requested: count,
            });
        }
        let ordered = order_offers(strategy, listing.offers);
        let estimate: i64 = ordered
            .iter()
            .take(count)
            .map(|offer| offer.price_micros_per_hour)
            .sum();
        let reservation_id = uuid::Uuid::now_v7().to_string();
        let hold = hold_of(Some(&reservation_id), "");
        self.admit(user_id, &hold, estimate).await?;
        let reservation = reservations::ReservationRow {
            id: reservation_id,
            user_id,
            requested: i64::from(request.count),
            idempotency_key: key.map(str::to_owned),
            errors: "[]".to_owned(),
            created_at: now_ms(),
        };
        if let Err(error) = reservations::insert(self.database().pool(), &reservation).await {
            self.give_back(user_id, &hold, 0).await;
            // Two concurrent reservations with one key: the second answers with the first.
            if gpuproxy_db::is_unique_violation(&error)
                && let Some(key) = key
                && let Some(existing) =
                    reservations::find_by_idempotency_key(self.database().pool(), user_id, key).await?
            {
                return self.reservation_view(existing).await;
            }
            return Err(error.into());
        }
        let queue = Mutex::new(VecDeque::from(ordered));
        let owner = RentFor {
            user_id,
            reservation_id: Some(&reservation.id),
            idempotency_key: None,
            row_id: None,
        };
        let outcomes: Vec<Result<InstanceRow, String>> = futures::stream::iter(1..=count)
            .map(|slot| self.fill_slot(slot, owner, &queue, &launch))
            .buffer_unordered(self.inner.reserve_concurrency)
            .collect()
            .await;
        let mut reserved = Vec::new();
        let mut errors = Vec::new();
        for outcome in outcomes {
            match outcome {
                Ok(row) => reserved.push(row),
                Err(line) => errors.push(line),
            }
        }
        errors.sort();
        reserved.sort_by(|a, b| a.id.cmp(&b.id));
        // The hold was an hour of the best offers for every slot: give back what was not rented.
        let rented: i64 = reserved.iter().map(|row| row.price_micros).sum();
        if rented < estimate {
            self.give_back(user_id, &hold, estimate - rented).await;
        }
        self.finish_reservation(&reservation, &reserved, &errors).await?;
        if reserved.is_empty() {
            return Err(Error::Catalog {
                code: gpuproxy_errors::ErrorCode::ProviderUnavailable,
                message: format!("no GPU could be reserved: {}", errors.join("; ")),
                nothing_done: false,
            });
        }
        Ok(pb::ReserveResponse {
            reservation_id: reservation.id,
            reserved: reserved.iter().map(|row| view::instance(row, None)).collect(),
            requested: request.count,
            errors,
        })
    }

    /// Fills one slot, trying the next offer in the queue after each failure that surely rented
    /// nothing, up to `RESERVE_ATTEMPTS_PER_SLOT` offers.
    async fn fill_slot(
        &self,
        slot: usize,
        owner: RentFor<'_>,
        queue: &Mutex<VecDeque<catalog::Offer>>,
        launch: &Launch,
    ) -> Result<InstanceRow, String> {
        let mut failures = Vec::new();
        let mut failed_provider: Option<String> = None;
        for _ in 0..self.inner.attempts_per_slot {
            let next = next_offer(queue, failed_provider.as_deref());
            let Some(offer) = next else {
                failures.push("no more matching offers to try".to_owned());
                break;
            };
            match self.rent(owner, &offer, launch).await {
                Ok(row) => return Ok(row),
                Err(failure) => {
                    failures.push(format!(
                        "offer {} ({}): {}",
                        offer.offer_id, offer.provider, failure.error
                    ));
                    failed_provider = Some(offer.provider.clone());
                    if failure.outcome_unknown {
                        failures.push(
                            "the rent's outcome is unknown; the reconciler adopts or destroys it".to_owned(),
                        );
                        break;
                    }
                }
            }
        }
        Err(format!("slot {slot}: {}", failures.join("; ")))
    }

    /// Stores the slot errors and publishes `reservation.created` or `reservation.partial`.
    async fn finish_reservation(
        &self,
        reservation: &reservations::ReservationRow,
        reserved: &[InstanceRow],
        errors: &[String],
    ) -> Result<(), Error> {
        let instance_ids: Vec<String> = reserved
            .iter()
            .filter_map(|row| row.provider_instance_id.clone())
            .collect();
        let mut transaction = self.begin().await?;
        reservations::set_errors(&mut *transaction, &reservation.id, errors).await?;
        let announced = if errors.is_empty() {
            event(
                names::RESERVATION_CREATED,
                &ReservationCreated {
                    user_id: reservation.user_id.to_string(),
                    reservation_id: reservation.id.clone(),
                    requested: count_of(reservation.requested),
                    reserved: count_of(reserved.len()),
                    instance_ids,
                },
            )?
        } else {
            event(
                names::RESERVATION_PARTIAL,
                &ReservationPartial {
                    user_id: reservation.user_id.to_string(),
                    reservation_id: reservation.id.clone(),
                    requested: count_of(reservation.requested),
                    reserved: count_of(reserved.len()),
                    instance_ids,
                    errors: errors.to_vec(),
                },
            )?
        };
        self.commit_with_events(transaction, &[announced]).await
    }

    /// Returns a stored reservation as a reserve answer (for a repeated idempotency key).
    async fn reservation_view(
        &self,
        reservation: reservations::ReservationRow,
    ) -> Result<pb::ReserveResponse, Error> {
        let rows = instances::list_by_reservation(self.database().pool(), &reservation.id).await?;
        let errors = reservation.error_lines();
        Ok(pb::ReserveResponse {
            reservation_id: reservation.id,
            reserved: rows
                .iter()
                .filter(|row| row.status != "failed")
                .map(|row| view::instance(row, None))
                .collect(),
            requested: i32::try_from(reservation.requested).unwrap_or(MAX_RESERVATION),
            errors,
        })
    }

    /// Destroys every live instance of `user_id`'s reservation; returns how many the providers confirmed.
    pub async fn release(&self, user_id: UserId, reservation_id: &str) -> Result<i32, Error> {
        reservations::find_owned(self.database().pool(), user_id, reservation_id)
            .await?
            .ok_or_else(|| Error::not_found("reservation", reservation_id))?;
        let rows = instances::list_by_reservation(self.database().pool(), reservation_id).await?;
        let destroyed = futures::future::join_all(
            rows.into_iter()
                .filter(|row| {
                    !row.status
                        .parse()
                        .is_ok_and(crate::domain::InstanceStatus::has_ended)
                })
                .map(|row| async move { self.destroy_row(row, "released").await }),
        )
        .await;
        let mut released = 0;
        for outcome in destroyed {
            match outcome {
                Ok(true) => released += 1,
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(reservation_id, %error, "destroying a released instance failed; the reconciler retries")
                }
            }
        }
        Ok(released)
    }

    /// Returns `user_id`'s reservations, newest first, with their instances.
    pub async fn list_reservations(&self, user_id: UserId) -> Result<Vec<pb::Reservation>, Error> {
        let mut listed = Vec::new();
        for reservation in reservations::list_by_user(self.database().pool(), user_id).await? {
            let rows = instances::list_by_reservation(self.database().pool(), &reservation.id).await?;
            listed.push(pb::Reservation {
                errors: reservation.error_lines(),
                reservation_id: reservation.id,
                user_id: reservation.user_id.to_string(),
                instances: rows
                    .iter()
                    .map(|row| {
                        let last_used = row
                            .provider_instance_id
                            .as_deref()
                            .and_then(|id| self.balancer().last_used_ms(id));
                        view::instance(row, last_used)
                    })
                    .collect(),
                created_at_ms: reservation.created_at,
                requested: i32::try_from(reservation.requested).unwrap_or(MAX_RESERVATION),
            });
        }
        Ok(listed)
    }
}

/// Takes the next offer to try: after a failure at one provider, the best offer of another one,
/// when there is one, since the failure may be the provider's rather than the offer's.
fn next_offer(queue: &Mutex<VecDeque<catalog::Offer>>, avoid: Option<&str>) -> Option<catalog::Offer> {
    let mut queue = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let elsewhere = avoid.and_then(|avoid| queue.iter().position(|offer| offer.provider != avoid));
    match elsewhere {
        Some(index) => queue.remove(index),
        None => queue.pop_front(),
    }
}

/// Returns a count as events carry it; a reservation holds at most [`MAX_RESERVATION`] instances.
fn count_of(count: impl TryInto<i32>) -> i32 {
    count.try_into().unwrap_or(i32::MAX)
}
