//! What the gateway does for a caller, whichever front they came through. REST (`rest/`), public
//! gRPC (`public_grpc/`) and the fronts to come (MCP, the agent protocols, the console) each turn
//! their wire shape into the typed inputs here and the typed outputs (the internal services'
//! messages) back into their own shape; none of them calls an internal service for an operation
//! defined here. The rules themselves (defaults, limits, validation) belong to the service that
//! owns the data; what is here is what the gateway adds: who the caller is, which calls in which
//! order, within which time limit.
//!
//! Layout: `idempotency.rs` reads the one `Idempotency-Key`; `offers.rs` lists offers;
//! `instances.rs` rents, destroys and finds instances; `reservations.rs` reserves and releases
//! many at once; `load.rs` reports loads and sets strategies; `payments.rs` takes payments
//! (refusing raw cards) and lists transactions and credits; `spending.rs` reads and checks the
//! guard rails; `models.rs` uploads (streamed), lists, reads and deletes users' models.

mod idempotency;
mod instances;
mod load;
mod models;
mod offers;
mod payments;
mod reservations;
mod spending;

use std::time::Duration;

use axum::extract::FromRef;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_client::BillingServiceClient;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_proto::gpuproxy::inference::v1::inference_service_client::InferenceServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_client::ReservationServiceClient;
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_client::WebhookServiceClient;
use gpuproxy_server::GrpcChannel;

use crate::health::HealthChecker;
use crate::{AppState, Error};

pub use idempotency::{checked_key, idempotency_key};
pub use instances::{Destroyed, LaunchInput, RentInput, gpu_instance as rented_gpu_instance};
pub use load::{LoadKind, LoadReport, ProviderLoad};
pub use offers::{OfferParams, gpu_instance as offer_gpu_instance};
pub use payments::{PaymentInput, raw_card_rejected};
pub use reservations::{ReserveFilters, ReserveInput};

/// The internal services, and every operation over them. Cheap to clone: each client shares its
/// channel. The clients are reached through it ([`Clients`] by `Deref`) by the routes that are one
/// front's alone (admin pages, exports, webhooks).
#[derive(Debug, Clone)]
pub struct Operations {
    clients: Clients,
    /// Provider health, which provider loads are read from.
    pub(crate) health: HealthChecker,
    /// `REQUEST_TIMEOUT`: what a call that rents or destroys may take.
    request_timeout: Duration,
    /// `SERVICE_CALL_TIMEOUT`: what any other call may take.
    service_call_timeout: Duration,
}

impl FromRef<AppState> for Operations {
    fn from_ref(state: &AppState) -> Self {
        state.operations.clone()
    }
}

impl std::ops::Deref for Operations {
    type Target = Clients;

    fn deref(&self) -> &Clients {
        &self.clients
    }
}

/// The clients of the internal services. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Clients {
    /// The auth service.
    pub auth: AuthServiceClient<GrpcChannel>,
    /// The provider catalog.
    pub catalog: CatalogServiceClient<GrpcChannel>,
    /// The guard rails.
    pub guardrails: GuardrailsServiceClient<GrpcChannel>,
    /// The reservation service and its load balancer.
    pub reservation: ReservationServiceClient<GrpcChannel>,
    /// The billing service: credits, payments, usage.
    pub billing: BillingServiceClient<GrpcChannel>,
    /// The webhooks service: subscriptions and their delivery logs.
    pub webhooks: WebhookServiceClient<GrpcChannel>,
    /// The inference service: users' models.
    pub inference: InferenceServiceClient<GrpcChannel>,
}

impl Operations {
    /// Returns the operations over `clients`, with provider health from `health`.
    pub fn new(
        clients: Clients,
        health: HealthChecker,
        request_timeout: Duration,
        service_call_timeout: Duration,
    ) -> Self {
        Operations {
            clients,
            health,
            request_timeout,
            service_call_timeout,
        }
    }

    /// Runs a call that rents or destroys (a create, a reservation, a release, a payment) within
    /// `REQUEST_TIMEOUT` rather than `SERVICE_CALL_TIMEOUT`: those calls wait on the providers, and
    /// giving up early would leave the caller unsure of what was rented. The service finishes them
    /// regardless; an `Idempotency-Key` retry returns their result.
    pub async fn call_renting<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, Error> {
        let limit = self.request_timeout.max(self.service_call_timeout);
        self.call_within(limit, call, |limit| {
            format!(
                "the reservation service did not answer within {}s; it goes on in the background (see /gpu/instances/mine, or retry with the same Idempotency-Key)",
                limit.as_secs()
            )
        })
        .await
    }

    /// Runs a call to an internal service within `SERVICE_CALL_TIMEOUT`, so that a slow provider
    /// behind the catalog cannot hold a gRPC caller (who has no REST timeout) indefinitely.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, Error> {
        self.call_within(self.service_call_timeout, call, |limit| {
            format!("an internal service did not answer within {}s", limit.as_secs())
        })
        .await
    }

    async fn call_within<T>(
        &self,
        limit: Duration,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
        timed_out: impl FnOnce(Duration) -> String,
    ) -> Result<T, Error> {
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(response)) => Ok(response.into_inner()),
            Ok(Err(status)) => Err(Error::from(status)),
            Err(_) => Err(Error::new(ErrorCode::Timeout, timed_out(limit))),
        }
    }
}
