//! The public gRPC API `gpuproxy.v1.GPUProxyService` (seed 000), served on `GRPC_PORT`, and KServe
//! V2's `inference.GRPCInferenceService` beside it (`open_inference.rs`).

mod authenticate;
mod layered;
mod methods;
mod observe;
mod open_inference;

use std::sync::Arc;

use futures::stream::BoxStream;
use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::auth::v1 as auth;
use gpuproxy_proto::gpuproxy::guardrails::v1 as guardrails;
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_server::GpuProxyService;
use tonic::{Request, Response, Status, Streaming};

use crate::money::dollars;
use crate::operations::{
    self, LaunchInput, LoadKind, LoadReport, OfferParams, Operations, PaymentInput, RentInput,
    ReserveFilters, ReserveInput, offer_gpu_instance, rented_gpu_instance,
};
use crate::{AppState, Credentials, Error};

pub use authenticate::{Authenticate, MethodPolicy};
pub use layered::{CallStep, Layered, Next};
pub use observe::Observe;

/// The public API, over the internal services.
#[derive(Debug, Clone)]
pub struct PublicApi {
    state: AppState,
}

impl PublicApi {
    /// Returns the API over `state`.
    pub fn new(state: AppState) -> Self {
        PublicApi { state }
    }

    fn operations(&self) -> &Operations {
        &self.state.operations
    }

    /// Returns the principal the authentication step attached, or the one behind `token` for
    /// clients that cannot set metadata (the contract's `CreateAPIKeyRequest.token`), let in by the
    /// same gatekeeper: failures counted per address, the call counted against the user's limit.
    async fn principal_of<T>(&self, request: &Request<T>, token: &str) -> Result<Arc<Principal>, Status> {
        if let Some(principal) = request.extensions().get::<Arc<Principal>>() {
            return Ok(Arc::clone(principal));
        }
        let credentials = Credentials::from_token(token).ok_or_else(unauthenticated)?;
        let address = request.remote_addr().map(|address| address.ip());
        let headers = request.metadata().clone().into_headers();
        match self
            .state
            .gatekeeper
            .admit_credentials(&credentials, address, &headers)
            .await
        {
            Ok(admission) => Ok(admission.principal),
            Err(refusal) => Err(refusal.error.into_status()),
        }
    }
}

fn unauthenticated() -> Status {
    Error::new(
        ErrorCode::Unauthenticated,
        "send authorization: Bearer <token> or x-api-key metadata",
    )
    .into_status()
}

fn spending_window(window: &guardrails::SpendingWindow) -> public::SpendingWindow {
    public::SpendingWindow {
        window: window.window.clone(),
        spent: dollars(window.spent_micros),
        limit: dollars(window.limit_micros),
        remaining: dollars(window.remaining_micros),
        exceeded: window.exceeded,
    }
}

/// Returns the `idempotency-key` metadata of a call that rents, empty without one; checked as the
/// REST header is.
fn idempotency_key<T>(request: &Request<T>) -> Result<String, Status> {
    operations::idempotency_key(&request.metadata().clone().into_headers()).map_err(Error::into_status)
}

fn service_error(status: Status) -> Status {
    Error::from(status).into_status()
}

#[tonic::async_trait]
impl GpuProxyService for PublicApi {
    async fn login(
        &self,
        request: Request<public::LoginRequest>,
    ) -> Result<Response<public::LoginResponse>, Status> {
        let client_ip = request
            .remote_addr()
            .map(|address| address.ip().to_string())
            .unwrap_or_default();
        let user_agent = request
            .metadata()
            .get("user-agent")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let request = request.into_inner();
        let login = self
            .operations()
            .auth
            .clone()
            .login(auth::LoginRequest {
                email: request.email,
                password: request.password,
                client_ip,
                user_agent,
            })
            .await
            .map_err(service_error)?
            .into_inner();
        let user = login.user.unwrap_or_default();
        Ok(Response::new(public::LoginResponse {
            token: login.token,
            user_id: user.user_id,
            email: user.email,
        }))
    }

    async fn create_api_key(
        &self,
        request: Request<public::CreateApiKeyRequest>,
    ) -> Result<Response<public::CreateApiKeyResponse>, Status> {
        let principal = self.principal_of(&request, &request.get_ref().token).await?;
        let request = request.into_inner();
        let created = self
            .operations()
            .auth
            .clone()
            .create_api_key(auth::CreateApiKeyRequest {
                user_id: principal.user_id.to_string(),
                name: request.name,
                expires_at_ms: 0,
            })
            .await
            .map_err(service_error)?
            .into_inner();
        let key = created.key.unwrap_or_default();
        Ok(Response::new(public::CreateApiKeyResponse {
            api_key: created.secret,
            name: key.name,
            created_at: key.created_at_ms / 1000,
        }))
    }

    async fn list_gpu_instances(
        &self,
        request: Request<public::ListGpuInstancesRequest>,
    ) -> Result<Response<public::ListGpuInstancesResponse>, Status> {
        let params = OfferParams::from(request.into_inner());
        let listing = self
            .operations()
            .list_offers(&params)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::ListGpuInstancesResponse {
            instances: listing.offers.into_iter().map(offer_gpu_instance).collect(),
            total_count: listing.total_count,
            warnings: listing.warnings,
        }))
    }

    async fn create_gpu_instance(
        &self,
        request: Request<public::CreateGpuInstanceRequest>,
    ) -> Result<Response<public::CreateGpuInstanceResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let idempotency_key = idempotency_key(&request)?;
        let request = request.into_inner();
        let input = RentInput {
            provider: request.provider,
            offer_id: request.instance_id,
            launch: LaunchInput {
                image: Some(request.image).filter(|image| !image.trim().is_empty()),
                env: request.env,
                ports: request.ports,
                ..LaunchInput::default()
            },
            idempotency_key,
        };
        let created = self
            .operations()
            .rent(&principal, input)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::CreateGpuInstanceResponse {
            message: format!(
                "rented offer {} as instance {}; it reports running once started",
                created.offer_id, created.instance_id
            ),
            instance_id: created.instance_id,
            provider: created.provider,
            status: created.status,
        }))
    }

    async fn destroy_gpu_instance(
        &self,
        request: Request<public::DestroyGpuInstanceRequest>,
    ) -> Result<Response<public::DestroyGpuInstanceResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let request = request.into_inner();
        let destroyed = self
            .operations()
            .destroy(&principal, &request.provider, &request.instance_id)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::DestroyGpuInstanceResponse {
            success: destroyed.terminated,
            message: if destroyed.terminated {
                format!("instance {} is terminated", request.instance_id)
            } else {
                format!(
                    "instance {} is being destroyed; the destroy is retried until the provider confirms",
                    request.instance_id
                )
            },
        }))
    }

    /// Returns the caller's rented instance with that id, else the offer with that id.
    async fn get_gpu_instance(
        &self,
        request: Request<public::GetGpuInstanceRequest>,
    ) -> Result<Response<public::GetGpuInstanceResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let request = request.into_inner();
        let found = self
            .operations()
            .instance_or_offer(&principal, request.provider, request.instance_id)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::GetGpuInstanceResponse {
            instance: Some(found),
        }))
    }

    async fn proxy_request(
        &self,
        request: Request<public::ProxyRequestMessage>,
    ) -> Result<Response<public::ProxyResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let metadata = request.metadata().clone().into_headers();
        let call = crate::data_plane::grpc_proxying::call_of(
            &self.state.data_plane,
            request.into_inner(),
            &metadata,
        )
        .map_err(Error::into_status)?;
        let answer =
            crate::data_plane::grpc_proxying::proxy_once(&self.state.data_plane, principal.user_id, call)
                .await?;
        Ok(Response::new(answer))
    }

    type StreamProxyRequestStream = BoxStream<'static, Result<public::ProxyResponse, Status>>;

    async fn stream_proxy_request(
        &self,
        request: Request<Streaming<public::ProxyRequestMessage>>,
    ) -> Result<Response<Self::StreamProxyRequestStream>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let metadata = request.metadata().clone().into_headers();
        Ok(Response::new(crate::data_plane::grpc_proxying::stream(
            self.state.data_plane.clone(),
            principal.user_id,
            metadata,
            request.into_inner(),
        )))
    }

    async fn create_payment(
        &self,
        request: Request<public::CreatePaymentRequest>,
    ) -> Result<Response<public::CreatePaymentResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let idempotency_key = idempotency_key(&request)?;
        let request = request.into_inner();
        let input = PaymentInput {
            amount: request.amount,
            currency: request.currency,
            provider: request.provider,
            payment_method: request.payment_method,
            idempotency_key,
        };
        let payment = self
            .operations()
            .create_payment(&principal, input)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::CreatePaymentResponse {
            payment_id: payment.payment_id,
            status: payment.status,
            amount: dollars(payment.amount_micros),
            currency: payment.currency,
        }))
    }

    async fn get_transactions(
        &self,
        request: Request<public::GetTransactionsRequest>,
    ) -> Result<Response<public::GetTransactionsResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let request = request.into_inner();
        let listed = self
            .operations()
            .transactions(&principal, request.limit, request.offset)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::GetTransactionsResponse {
            transactions: listed
                .transactions
                .into_iter()
                .map(|transaction| public::Transaction {
                    id: transaction.transaction_id,
                    r#type: transaction.r#type,
                    amount: dollars(transaction.amount_micros),
                    currency: transaction.currency,
                    timestamp: transaction.created_at_ms / 1000,
                    status: transaction.status,
                    description: transaction.description,
                })
                .collect(),
            total_count: listed.total_count,
        }))
    }

    async fn get_spending_info(
        &self,
        request: Request<public::GetSpendingInfoRequest>,
    ) -> Result<Response<public::GetSpendingInfoResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let info = self
            .operations()
            .spending_info(&principal)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::GetSpendingInfoResponse {
            windows: info.windows.iter().map(spending_window).collect(),
            guard_rails_enabled: info.guard_rails_enabled,
            total_spent_24h: dollars(info.total_spent_24h_micros),
        }))
    }

    async fn check_spending_limit(
        &self,
        request: Request<public::CheckSpendingLimitRequest>,
    ) -> Result<Response<public::CheckSpendingLimitResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let checked = self
            .operations()
            .check_spending(&principal, "amount", request.get_ref().amount)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::CheckSpendingLimitResponse {
            allowed: checked.allowed,
            reason: checked.reason,
            would_exceed: checked.would_exceed.iter().map(spending_window).collect(),
        }))
    }

    async fn set_load_balancer_strategy(
        &self,
        request: Request<public::SetLoadBalancerStrategyRequest>,
    ) -> Result<Response<public::SetLoadBalancerStrategyResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let strategy = self
            .operations()
            .set_strategy(&principal, request.into_inner().strategy)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::SetLoadBalancerStrategyResponse {
            strategy,
            success: true,
        }))
    }

    /// `server` reports the caller's instances in rotation (active connections, average response
    /// time, failure share as `load_score`); `provider` each provider's available offers
    /// (`connections`), recent latency and failure share; `all` (or empty) both.
    async fn get_load_info(
        &self,
        request: Request<public::GetLoadInfoRequest>,
    ) -> Result<Response<public::GetLoadInfoResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let kind = LoadKind::parse(&request.get_ref().r#type).map_err(Error::into_status)?;
        let LoadReport { servers, providers } = self
            .operations()
            .load_report(&principal, kind)
            .await
            .map_err(Error::into_status)?;
        Ok(Response::new(public::GetLoadInfoResponse {
            server_load: servers
                .server_load
                .into_iter()
                .map(|load| public::LoadInfo {
                    instance_id: load.instance_id,
                    provider: load.provider,
                    connections: load.active_connections,
                    avg_response_time_ms: load.avg_response_time_ms,
                    load_score: load.load_score,
                })
                .collect(),
            provider_load: providers
                .into_iter()
                .map(|provider| public::LoadInfo {
                    instance_id: String::new(),
                    provider: provider.provider,
                    connections: provider.connections,
                    avg_response_time_ms: provider.avg_response_time_ms,
                    load_score: provider.load_score,
                })
                .collect(),
            current_strategy: servers.current_strategy,
        }))
    }

    async fn reserve_gp_us(
        &self,
        request: Request<public::ReserveGpUsRequest>,
    ) -> Result<Response<public::ReserveGpUsResponse>, Status> {
        let principal = self.principal_of(&request, "").await?;
        let idempotency_key = idempotency_key(&request)?;
        let request = request.into_inner();
        let input = ReserveInput {
            count: request.count,
            filters: ReserveFilters {
                provider: Some(request.provider),
                min_vram: Some(request.min_vram),
                max_price: Some(request.max_price),
                ..ReserveFilters::default()
            },
            launch: LaunchInput::default(),
            idempotency_key,
        };
        let done = self
            .operations()
            .reserve(&principal, input)
            .await
            .map_err(Error::into_status)?;
        let reserved_count = i32::try_from(done.reserved.len()).unwrap_or(i32::MAX);
        let message = if done.errors.is_empty() {
            format!(
                "reserved {reserved_count} of {} (reservation {})",
                done.requested, done.reservation_id
            )
        } else {
            format!(
                "reserved {reserved_count} of {} (reservation {}); {}",
                done.requested,
                done.reservation_id,
                done.errors.join("; ")
            )
        };
        Ok(Response::new(public::ReserveGpUsResponse {
            reserved_instances: done.reserved.into_iter().map(rented_gpu_instance).collect(),
            reserved_count,
            message,
        }))
    }

    async fn health_check(
        &self,
        _request: Request<public::HealthCheckRequest>,
    ) -> Result<Response<public::HealthCheckResponse>, Status> {
        let report = self.state.health.check().await;
        Ok(Response::new(public::HealthCheckResponse {
            status: report.status.as_str().to_owned(),
            timestamp: chrono::Utc::now().timestamp(),
            details: report
                .dependencies
                .into_iter()
                .map(|(name, status)| (name, status.as_str().to_owned()))
                .chain(
                    report
                        .providers
                        .into_iter()
                        .map(|provider| (format!("provider:{}", provider.provider), provider.state)),
                )
                .chain(
                    report
                        .problems
                        .into_iter()
                        .enumerate()
                        .map(|(index, problem)| (format!("problem:{}", index + 1), problem)),
                )
                .collect(),
        }))
    }
}
