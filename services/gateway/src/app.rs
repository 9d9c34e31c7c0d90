//! Building and running the gateway.

use std::net::SocketAddr;
use std::sync::Arc;

use gpuproxy_config::{
    AGENTS, AUTH, BILLING, CATALOG, GUARDRAILS, INFERENCE, RESERVATION, SERVICES, WEBHOOKS,
};
use gpuproxy_events::EventBus;
use gpuproxy_kv::KvStore;
use gpuproxy_proto::gpuproxy::agents::v1::agents_service_client::AgentsServiceClient;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_client::BillingServiceClient;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_proto::gpuproxy::inference::v1::inference_service_client::InferenceServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_client::ReservationServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_server::ReservationService;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_server::{GpuProxyServiceServer, SERVICE_NAME};
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_client::WebhookServiceClient;
use gpuproxy_proto::kserve::grpc_inference_service_server::GrpcInferenceServiceServer;
use gpuproxy_server::{GrpcServer, ServiceContext, Tasks};
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::{Identity, ServerTlsConfig};

use crate::authenticator::Authenticator;
use crate::config::{Config, TlsFiles};
use crate::data_plane::DataPlane;
use crate::gatekeeper::Gatekeeper;
use crate::health::{HealthChecker, ServiceProbe};
use crate::operations::{Clients, Operations};
use crate::public_grpc::{Authenticate, Layered, Observe, PublicApi};
use crate::rate_limit::RateLimiter;
use crate::state::SharedState;
use crate::{AppState, rest};

/// The gateway, built: listeners bound, routes assembled.
#[derive(Debug)]
pub struct App {
    state: AppState,
    cors_origins: crate::CorsOrigins,
    grpc: GrpcServer,
    grpc_tls: Option<ServerTlsConfig>,
    http_listener: TcpListener,
    http_workers: usize,
    grpc_listener: TcpListener,
    bus: EventBus,
    flusher: crate::data_plane::ResultFlusher,
}

impl App {
    /// Connects the rate-limit store, assembles REST and public gRPC, loads TLS and binds both
    /// listeners. The services are the context's peers (remote in the fleet, in-process embedded);
    /// events (revocations, `/ws`) come from its bus.
    pub async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let ServiceContext { bus, metrics, peers } = context;
        let kv = KvStore::connect(&config.redis).await?;
        let auth = AuthServiceClient::new(peers.channel(&AUTH)?);
        let authenticator =
            Authenticator::new(auth.clone(), config.auth_cache_ttl, config.service_call_timeout);
        let rate_limiter = RateLimiter::new(kv.clone(), config.rate_limit);
        let catalog = CatalogServiceClient::new(peers.channel(&CATALOG)?);
        let probes = SERVICES
            .into_iter()
            .map(|spec| {
                Ok(ServiceProbe {
                    spec,
                    channel: peers.channel(spec)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let gatekeeper = Gatekeeper::new(authenticator, rate_limiter, config.trust_forwarded_for);
        let reservation = ReservationServiceClient::new(peers.channel(&RESERVATION)?);
        let direct = peers
            .direct::<Arc<dyn ReservationService>>()
            .map(crate::data_plane::InProcessReservations);
        let balancer = crate::data_plane::BalancerLink::new(reservation.clone(), direct);
        let (results, flusher) =
            crate::data_plane::result_reporter(balancer.clone(), config.service_call_timeout);
        let health = HealthChecker::new(kv, bus.clone(), probes, catalog.clone());
        let clients = Clients {
            auth,
            catalog,
            guardrails: GuardrailsServiceClient::new(peers.channel(&GUARDRAILS)?),
            reservation,
            billing: BillingServiceClient::new(peers.channel(&BILLING)?),
            webhooks: WebhookServiceClient::new(peers.channel(&WEBHOOKS)?),
            // An upload's chunk and its framing out; a model's outputs back.
            inference: InferenceServiceClient::new(peers.channel(&INFERENCE)?)
                .max_encoding_message_size(8 << 20)
                .max_decoding_message_size(64 << 20),
        };
        let operations = Operations::new(
            clients,
            health.clone(),
            config.request_timeout,
            config.service_call_timeout,
        );
        // The gateway charges per use only; it admits nothing ahead of time.
        let spending = gpuproxy_spending::Spending::new(
            peers.channel(&BILLING)?,
            peers.channel(&GUARDRAILS)?,
            false,
            config.service_call_timeout,
        );
        let data_plane = DataPlane::new(
            crate::data_plane::Proxy::new(config.proxy.clone())?,
            balancer,
            results,
            spending,
            operations.clone(),
        );
        let agent_actions = crate::agent_actions::AgentActions::new(
            AgentsServiceClient::new(peers.channel(&AGENTS)?),
            data_plane.clone(),
            config.service_call_timeout,
        );
        let state = AppState::new(SharedState {
            operations,
            data_plane,
            gatekeeper: gatekeeper.clone(),
            health,
            mcp: crate::mcp::McpFront::new(agent_actions.clone(), config.mcp_allowed_origins),
            agents: agent_actions,
            hub: crate::hub::Hub::new(config.ws.buffer, config.ws.max_connections),
            ws: config.ws,
            metrics,
            version: env!("CARGO_PKG_VERSION"),
            request_timeout: config.request_timeout,
            max_body_bytes: config.max_body_bytes,
            max_upload_bytes: config.max_upload_bytes,
            public_url: config.public_url.as_deref().map(std::sync::Arc::from),
        });
        let public_api = GpuProxyServiceServer::new(PublicApi::new(state.clone()));
        let authenticated = Layered::new(public_api, Authenticate::new(gatekeeper.clone()));
        let open_inference = Layered::new(
            GrpcInferenceServiceServer::new(PublicApi::new(state.clone())),
            Authenticate::new(gatekeeper),
        );
        let routes = Routes::new(Layered::new(authenticated, Observe::new(state.metrics.clone())))
            .add_service(Layered::new(open_inference, Observe::new(state.metrics.clone())));
        let grpc = GrpcServer::new(routes, gpuproxy_proto::PUBLIC_FILE_DESCRIPTOR_SET)?;
        let grpc_tls = config.grpc_tls.as_ref().map(load_tls).transpose()?;
        let http_listener = gpuproxy_server::bind(config.http_listen).await?;
        let grpc_listener = gpuproxy_server::bind(config.grpc_listen).await?;
        Ok(App {
            state,
            cors_origins: config.cors_origins,
            grpc,
            grpc_tls,
            http_listener,
            http_workers: config.http_workers,
            grpc_listener,
            bus,
            flusher,
        })
    }

    /// Returns where REST listens.
    pub fn http_addr(&self) -> std::io::Result<SocketAddr> {
        self.http_listener.local_addr()
    }

    /// Returns where public gRPC listens.
    pub fn grpc_addr(&self) -> std::io::Result<SocketAddr> {
        self.grpc_listener.local_addr()
    }

    /// Returns whether public gRPC uses TLS.
    pub fn grpc_uses_tls(&self) -> bool {
        self.grpc_tls.is_some()
    }

    /// Returns the REST service, for driving it without a socket (benchmarks).
    pub fn router(&self) -> rest::RestService {
        rest::service(self.state.for_worker(), &self.cors_origins)
    }

    /// Returns the shared state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Starts REST, public gRPC and the auth-cache invalidation under `tasks`. On shutdown both
    /// servers stop accepting and let in-flight requests finish.
    pub fn spawn(self, tasks: &Tasks) {
        let App {
            state,
            cors_origins,
            grpc,
            grpc_tls,
            http_listener,
            http_workers,
            grpc_listener,
            bus,
            flusher,
        } = self;
        tasks.spawn("gateway-proxy-results", flusher.run(tasks.token()));
        let token = tasks.token();
        let worker_state = state.clone();
        let make_rest = move || rest::service(worker_state.for_worker(), &cors_origins);
        tasks.spawn(
            "gateway-http",
            crate::data_plane::http_workers::serve(http_listener, make_rest, http_workers, token),
        );
        let health = grpc.health();
        tasks.spawn("gateway-grpc-health", async move {
            health.set(SERVICE_NAME, true).await;
            health.set("", true).await;
            Ok(())
        });
        tasks.spawn("gateway-grpc", grpc.serve(grpc_listener, grpc_tls, tasks.token()));
        tasks.spawn(
            "gateway-ws-hub",
            state.hub.clone().follow(bus.clone(), tasks.token()),
        );
        tasks.spawn(
            "gateway-auth-invalidation",
            state
                .gatekeeper
                .authenticator
                .clone()
                .follow_revocations(bus, tasks.token()),
        );
    }
}

fn load_tls(files: &TlsFiles) -> anyhow::Result<ServerTlsConfig> {
    let read = |variable: &str, path: &std::path::Path| {
        std::fs::read(path).map_err(|error| anyhow::anyhow!("{variable}={}: {error}", path.display()))
    };
    let cert = read("GRPC_TLS_CERT", &files.cert)?;
    let key = read("GRPC_TLS_KEY", &files.key)?;
    Ok(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
}
