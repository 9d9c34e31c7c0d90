//! Reserving many GPUs at once, and the caller's reservations.

use gpuproxy_domain::Principal;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as reservation;

use crate::Error;
use crate::operations::{LaunchInput, OfferParams, Operations};

/// Which offers a reservation may use; unset fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReserveFilters {
    /// `vast.ai`, `io.net` or `all`.
    pub provider: Option<String>,
    /// Minimum VRAM per GPU, GB.
    pub min_vram: Option<f64>,
    /// Maximum USD per hour per instance.
    pub max_price: Option<f64>,
    /// Substring of the GPU model.
    pub gpu_model: Option<String>,
    /// Country code or substring of the location.
    pub location: Option<String>,
    /// Exact GPUs per instance.
    pub num_gpus: Option<i32>,
}

impl ReserveFilters {
    /// Returns the catalog's filters, checked as a listing's are.
    pub fn to_catalog(&self) -> Result<catalog::OfferFilters, Error> {
        let params = OfferParams {
            provider: self.provider.clone().unwrap_or_default(),
            min_vram: self.min_vram.unwrap_or(0.0),
            max_price: self.max_price.unwrap_or(0.0),
            gpu_model: self.gpu_model.clone().unwrap_or_default(),
            location: self.location.clone().unwrap_or_default(),
            num_gpus: self.num_gpus.unwrap_or(0),
            ..OfferParams::default()
        };
        Ok(params.to_request()?.filters.unwrap_or_default())
    }
}

/// A reservation to make.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReserveInput {
    /// GPUs to reserve, 1–16.
    pub count: i32,
    /// Which offers.
    pub filters: ReserveFilters,
    /// What to run on each.
    pub launch: LaunchInput,
    /// Makes a retried reservation return the first (empty: none).
    pub idempotency_key: String,
}

impl Operations {
    /// Reserves up to 16 GPUs for `caller`, picked with their strategy and rented in parallel; what
    /// could not be filled is listed in the answer's `errors`.
    pub async fn reserve(
        &self,
        caller: &Principal,
        input: ReserveInput,
    ) -> Result<reservation::ReserveResponse, Error> {
        let request = reservation::ReserveRequest {
            user_id: caller.user_id.to_string(),
            count: input.count,
            filters: Some(input.filters.to_catalog()?),
            config: Some(input.launch.into_proto()),
            idempotency_key: input.idempotency_key,
        };
        self.call_renting(self.reservation.clone().reserve(request)).await
    }

    /// Lists `caller`'s reservations, newest first.
    pub async fn reservations(&self, caller: &Principal) -> Result<Vec<reservation::Reservation>, Error> {
        let request = reservation::ListReservationsRequest {
            user_id: caller.user_id.to_string(),
        };
        let listed = self
            .call(self.reservation.clone().list_reservations(request))
            .await?;
        Ok(listed.reservations)
    }

    /// Destroys every instance of one of `caller`'s reservations.
    pub async fn release(
        &self,
        caller: &Principal,
        reservation_id: &str,
    ) -> Result<reservation::ReleaseResponse, Error> {
        let request = reservation::ReleaseRequest {
            user_id: caller.user_id.to_string(),
            reservation_id: reservation_id.to_owned(),
        };
        self.call_renting(self.reservation.clone().release(request)).await
    }
}
