//! Building and running the gateway.

use std::net::SocketAddr;
use std::time::Duration;

use gpuproxy_events::EventBus;
use gpuproxy_kv::KvStore;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_server::SERVICE_NAME as AUTH_SERVICE;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_client::BillingServiceClient;
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_server::SERVICE_NAME as BILLING_SERVICE;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_server::SERVICE_NAME as CATALOG_SERVICE;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_server::SERVICE_NAME as GUARDRAILS_SERVICE;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_client::ReservationServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1::reservation_service_server::SERVICE_NAME as RESERVATION_SERVICE;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_server::{GpuProxyServiceServer, SERVICE_NAME};
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_client::WebhookServiceClient;
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_server::SERVICE_NAME as WEBHOOKS_SERVICE;
use gpuproxy_server::{GrpcChannel, GrpcServer, Tasks};
use gpuproxy_telemetry::Metrics;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::{Identity, ServerTlsConfig};

use crate::authenticator::Authenticator;
use crate::config::{Config, TlsFiles};
use crate::gatekeeper::Gatekeeper;
use crate::health::{HealthChecker, ServiceProbe};
use crate::public_grpc::{Authenticate, Layered, Observe, PublicApi};
use crate::rate_limit::RateLimiter;
use crate::state::SharedState;
use crate::{AppState, rest};

/// What the gateway talks to, made by the caller: in the fleet, channels to remote services and a
/// NATS bus; embedded, in-process channels and the in-process bus the services publish on.
#[derive(Debug, Clone)]
pub struct Dependencies {
    /// The auth service.
    pub auth: GrpcChannel,
    /// The provider catalog.
    pub catalog: GrpcChannel,
    /// The guard rails.
    pub guardrails: GrpcChannel,
    /// The reservation service.
    pub reservation: GrpcChannel,
    /// The billing service.
    pub billing: GrpcChannel,
    /// The webhooks service.
    pub webhooks: GrpcChannel,
    /// The reservation service's API itself when it runs in this process (embedded): the load
    /// balancer's calls on every proxied request then skip gRPC encoding.
    pub reservation_in_process: Option<crate::proxy::InProcessReservations>,
    /// The bus auth events arrive on.
    pub bus: EventBus,
    /// The process's metrics registry.
    pub metrics: Metrics,
}

impl Dependencies {
    /// Connects to the services named in `config` (lazily: a service that starts later is fine)
    /// and to its bus.
    pub async fn connect(config: &Config, metrics: Metrics) -> anyhow::Result<Self> {
        Ok(Dependencies {
            auth: gpuproxy_server::connect_lazy(
                &config.auth_service_url,
                Duration::from_secs(5),
                config.internal_token.as_ref(),
            )?,
            catalog: gpuproxy_server::connect_lazy(
                &config.catalog_service_url,
                Duration::from_secs(5),
                config.internal_token.as_ref(),
            )?,
            guardrails: gpuproxy_server::connect_lazy(
                &config.guardrails_service_url,
                Duration::from_secs(5),
                config.internal_token.as_ref(),
            )?,
            reservation: gpuproxy_server::connect_lazy(
                &config.reservation_service_url,
                Duration::from_secs(5),
                config.internal_token.as_ref(),
            )?,
            billing: gpuproxy_server::connect_lazy(
                &config.billing_service_url,
                Duration::from_secs(5),
                config.internal_token.as_ref(),
            )?,
            webhooks: gpuproxy_server::connect_lazy(
                &config.webhooks_service_url,
                Duration::from_secs(5),
                config.internal_token.as_ref(),
            )?,
            reservation_in_process: None,
            bus: EventBus::connect(&config.nats).await?,
            metrics,
        })
    }
}

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
    flusher: crate::proxy::ResultFlusher,
}

impl App {
    /// Connects the rate-limit store, assembles REST and public gRPC, loads TLS and binds both listeners.
    pub async fn build(config: Config, dependencies: Dependencies) -> anyhow::Result<Self> {
        let kv = KvStore::connect(&config.redis).await?;
        let auth = AuthServiceClient::new(dependencies.auth.clone());
        let authenticator =
            Authenticator::new(auth.clone(), config.auth_cache_ttl, config.service_call_timeout);
        let rate_limiter = RateLimiter::new(kv.clone(), config.rate_limit);
        let catalog = CatalogServiceClient::new(dependencies.catalog.clone());
        let probes = vec![
            ServiceProbe {
                name: "auth",
                grpc_service: AUTH_SERVICE,
                channel: dependencies.auth,
            },
            ServiceProbe {
                name: "catalog",
                grpc_service: CATALOG_SERVICE,
                channel: dependencies.catalog,
            },
            ServiceProbe {
                name: "guardrails",
                grpc_service: GUARDRAILS_SERVICE,
                channel: dependencies.guardrails.clone(),
            },
            ServiceProbe {
                name: "reservation",
                grpc_service: RESERVATION_SERVICE,
                channel: dependencies.reservation.clone(),
            },
            ServiceProbe {
                name: "billing",
                grpc_service: BILLING_SERVICE,
                channel: dependencies.billing.clone(),
            },
            ServiceProbe {
                name: "webhooks",
                grpc_service: WEBHOOKS_SERVICE,
                channel: dependencies.webhooks.clone(),
            },
        ];
        let gatekeeper = Gatekeeper::new(authenticator, rate_limiter, config.trust_forwarded_for);
        let reservation = ReservationServiceClient::new(dependencies.reservation.clone());
        let balancer =
            crate::proxy::BalancerLink::new(reservation.clone(), dependencies.reservation_in_process);
        let (results, flusher) = crate::proxy::result_reporter(balancer.clone(), config.service_call_timeout);
        let state = AppState::new(SharedState {
            auth,
            gatekeeper: gatekeeper.clone(),
            health: HealthChecker::new(kv, dependencies.bus.clone(), probes, catalog.clone()),
            catalog,
            guardrails: GuardrailsServiceClient::new(dependencies.guardrails),
            reservation,
            billing: BillingServiceClient::new(dependencies.billing),
            webhooks: WebhookServiceClient::new(dependencies.webhooks),
            proxy: crate::proxy::Proxy::new(config.proxy.clone())?,
            balancer,
            results,
            hub: crate::hub::Hub::new(config.ws.buffer, config.ws.max_connections),
            ws: config.ws,
            metrics: dependencies.metrics,
            version: env!("CARGO_PKG_VERSION"),
            request_timeout: config.request_timeout,
            max_body_bytes: config.max_body_bytes,
            service_call_timeout: config.service_call_timeout,
        });
        let public_api = GpuProxyServiceServer::new(PublicApi::new(state.clone()));
        let authenticated = Layered::new(public_api, Authenticate::new(gatekeeper));
        let routes = Routes::new(Layered::new(authenticated, Observe::new(state.metrics.clone())));
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
            bus: dependencies.bus,
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
            crate::http_workers::serve(http_listener, make_rest, http_workers, token),
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
