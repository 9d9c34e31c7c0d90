//! What every handler can reach.

use std::time::Duration;

use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_client::BillingServiceClient;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_client::ReservationServiceClient;
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_client::WebhookServiceClient;
use gpuproxy_server::GrpcChannel;
use gpuproxy_telemetry::Metrics;

use gpuproxy_errors::ErrorCode;

use crate::Error;
use crate::gatekeeper::Gatekeeper;
use crate::health::HealthChecker;

/// The gateway's shared state, behind one `Arc`: axum clones the state for every handler and
/// middleware of every request, and cloning the fields themselves (four gRPC clients, each a boxed
/// channel) costs allocations. Built once in [`crate::App::build`]; fields are reached by `Deref`.
#[derive(Debug, Clone)]
pub struct AppState {
    shared: std::sync::Arc<SharedState>,
}

impl AppState {
    /// Wraps `shared`.
    pub fn new(shared: SharedState) -> Self {
        AppState {
            shared: std::sync::Arc::new(shared),
        }
    }

    /// A state of its own for one REST worker (`http_workers.rs`): the same clients, caches, hub and
    /// metrics (each shares what it holds), its own connections to instances and credential memo,
    /// and its own `Arc`, so that the clones every request makes do not bounce one reference count
    /// between cores.
    pub fn for_worker(&self) -> AppState {
        AppState::new(SharedState {
            proxy: self.proxy.for_worker(),
            gatekeeper: self.gatekeeper.for_worker(),
            ..SharedState::clone(&self.shared)
        })
    }
}

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.shared
    }
}

/// What every handler can reach: clients of the internal services and the request-path helpers.
/// Every field's clone shares what it holds.
#[derive(Debug, Clone)]
pub struct SharedState {
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
    /// The money path (guard rails, then billing), for what the gateway itself charges.
    pub spending: gpuproxy_spending::Spending,
    /// The way out to GPU instances and allow-listed hosts.
    pub proxy: crate::proxy::Proxy,
    /// The load balancer's per-request calls (in this process when the reservation service is).
    pub balancer: crate::proxy::BalancerLink,
    /// Where proxied requests' results go, batched, to the load balancer.
    pub results: crate::proxy::ResultReporter,
    /// Who gets in.
    pub gatekeeper: Gatekeeper,
    /// Dependency probes.
    pub health: HealthChecker,
    /// The `/ws` connections of this gateway.
    pub hub: crate::hub::Hub,
    /// Their bounds.
    pub ws: crate::config::WsConfig,
    /// The Prometheus registry.
    pub metrics: Metrics,
    /// The package version, reported by `/health`.
    pub version: &'static str,
    /// The longest a REST request may take.
    pub request_timeout: Duration,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// `SERVICE_CALL_TIMEOUT`: the longest a call to an internal service may take.
    pub service_call_timeout: Duration,
}

impl AppState {
    /// Runs a call that rents or destroys (a create, a reservation, a release) within
    /// `REQUEST_TIMEOUT` rather than `SERVICE_CALL_TIMEOUT`: those calls wait on the providers, and
    /// giving up early would leave the caller unsure of what was rented. The reservation service
    /// finishes them regardless; an `Idempotency-Key` retry returns their result.
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

    /// Returns the caller's rented instance with this id as the seed's `GPUInstance`, else the offer
    /// with this id: both fronts' `GetGPUInstance` answer this way.
    pub async fn instance_or_offer(
        &self,
        user_id: &str,
        provider: String,
        instance_id: String,
    ) -> Result<gpuproxy_proto::gpuproxy::v1::GpuInstance, Error> {
        use gpuproxy_proto::gpuproxy::{catalog::v1 as catalog, reservation::v1 as reservation};
        let owned = self
            .call(
                self.reservation
                    .clone()
                    .get_instance(reservation::GetInstanceRequest {
                        user_id: user_id.to_owned(),
                        provider: provider.clone(),
                        instance_id: instance_id.clone(),
                    }),
            )
            .await;
        if let Ok(owned) = owned {
            return Ok(crate::rentals::gpu_instance(owned));
        }
        let offer = self
            .call(self.catalog.clone().get_offer(catalog::GetOfferRequest {
                provider,
                offer_id: instance_id,
            }))
            .await?;
        Ok(crate::offers::gpu_instance(offer))
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
