//! Building and running the catalog service.

use std::net::SocketAddr;

use gpuproxy_config::{ExposeSecret, SecretString};
use gpuproxy_domain::Provider;
use gpuproxy_events::{Event, EventBus, names};
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_server::CatalogServiceServer;
use gpuproxy_provider_sim::{SimConfig, Simulator};
use gpuproxy_server::{GrpcChannel, GrpcServer, Tasks};
use gpuproxy_telemetry::Metrics;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::Routes;

use crate::catalog::Catalog;
use crate::config::{Config, SimulatorMode};
use crate::grpc::GrpcCatalog;
use crate::providers::ProviderClient;
use crate::providers::breaker::{Breaker, Transition};
use crate::providers::http::{HttpSettings, ProviderHttp};
use crate::providers::ionet::IoNetClient;
use crate::providers::metrics::ProviderMetrics;
use crate::providers::vastai::VastAiClient;

/// The gRPC service name, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "gpuproxy.catalog.v1.CatalogService";

/// Whether this process is the embedded server or one service of a fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// Every service in one process: the simulator stands in when no provider has a key.
    Embedded,
    /// One service per process: the simulator runs only with `PROVIDER_SIMULATOR=on`.
    Fleet,
}

/// The catalog service, built and ready to run.
#[derive(Debug)]
pub struct App {
    catalog: Catalog,
    grpc: GrpcServer,
    listener: Option<TcpListener>,
    simulator: Option<Simulator>,
    transitions: mpsc::UnboundedReceiver<(Provider, Transition)>,
    tracker: TaskTracker,
    bus: EventBus,
}

impl App {
    /// Builds the provider clients (starting the simulator when it stands in), the catalog and the
    /// gRPC server; binds the listener when `config.grpc_listen` is set.
    pub async fn build(
        config: Config,
        bus: EventBus,
        metrics: &Metrics,
        deployment: Deployment,
    ) -> anyhow::Result<Self> {
        let market = &config.marketplace;
        let no_keys = market.vastai_api_key.is_none() && market.ionet_api_key.is_none();
        let simulate = match config.simulator.mode {
            SimulatorMode::On => true,
            SimulatorMode::Auto => no_keys && deployment == Deployment::Embedded,
            SimulatorMode::Off => false,
        };
        let simulator = if simulate {
            let sim_config = SimConfig {
                seed: config.simulator.seed,
                vastai_offers: config.simulator.offers,
                ionet_devices: config.simulator.offers,
                ..SimConfig::default()
            };
            let listener =
                gpuproxy_server::bind(SocketAddr::from(([127, 0, 0, 1], config.simulator.port))).await?;
            let simulator = Simulator::start(sim_config, listener).await?;
            tracing::warn!(
                url = %simulator.base_url(),
                "no provider API key is set: vast.ai and io.net are SIMULATED by a local server (set VASTAI_API_KEY / IONET_API_KEY for the real marketplaces)"
            );
            Some(simulator)
        } else {
            None
        };

        let provider_metrics = ProviderMetrics::register(metrics);
        let (sender, transitions) = mpsc::unbounded_channel();
        let http = |provider: Provider, base_url: String, auth_header: (&'static str, SecretString)| {
            ProviderHttp::new(HttpSettings {
                provider,
                base_url,
                auth_header,
                attempt_timeout: market.request_timeout,
                retry: config.retry,
                breaker: Breaker::new(config.breaker),
                metrics: provider_metrics.clone(),
                transitions: sender.clone(),
            })
        };
        let sim_keys = SimConfig::default();
        let mut clients = Vec::new();
        // A provider's key and URL, or the simulator's for a provider without a key when it runs.
        let endpoint = |key: &Option<SecretString>, url: &str, sim_key: &str| match (key, &simulator) {
            (Some(key), _) => Some((url.to_owned(), key.clone())),
            (None, Some(simulator)) => Some((simulator.base_url(), SecretString::from(sim_key.to_owned()))),
            (None, None) => None,
        };
        if let Some((url, key)) = endpoint(
            &market.vastai_api_key,
            &market.vastai_api_url,
            &sim_keys.vastai_api_key,
        ) {
            let bearer = SecretString::from(format!("Bearer {}", key.expose_secret()));
            let transport = http(Provider::VastAi, url, ("authorization", bearer))?;
            clients.push(ProviderClient::VastAi(VastAiClient::new(
                transport,
                config.vastai_search_limit,
            )));
        }
        if let Some((url, key)) = endpoint(
            &market.ionet_api_key,
            &market.ionet_api_url,
            &sim_keys.ionet_api_key,
        ) {
            let transport = http(Provider::IoNet, url, ("x-api-key", key))?;
            clients.push(ProviderClient::IoNet(IoNetClient::new(
                transport,
                config.ionet_duration_hours,
            )));
        }
        if clients.is_empty() {
            tracing::warn!("no GPU provider is configured: set VASTAI_API_KEY and/or IONET_API_KEY");
        }
        for client in &clients {
            provider_metrics.set_breaker(client.provider(), 0);
        }

        let tracker = TaskTracker::new();
        let catalog = Catalog::new(
            clients,
            config.cache_ttl,
            config.list_timeout,
            simulator.is_some(),
            provider_metrics,
            tracker.clone(),
        );
        let routes = Routes::new(CatalogServiceServer::new(GrpcCatalog::new(
            catalog.clone(),
            tracker.clone(),
        )));
        let grpc = GrpcServer::new(routes, gpuproxy_proto::INTERNAL_FILE_DESCRIPTOR_SET)?
            .with_internal_token(config.internal_token.clone());
        let listener = gpuproxy_server::bind_internal(
            "catalog",
            config.grpc_listen,
            config.internal_token.is_some(),
            config.developer_mode,
        )
        .await?;
        let health = grpc.health();
        health.set(SERVICE_NAME, true).await;
        health.set("", true).await;
        Ok(App {
            catalog,
            grpc,
            listener,
            simulator,
            transitions,
            tracker,
            bus,
        })
    }

    /// Returns where the internal gRPC API listens, when it listens.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Returns the use cases.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Returns the simulator's base URL when it stands in for the providers.
    pub fn simulator_url(&self) -> Option<String> {
        self.simulator.as_ref().map(Simulator::base_url)
    }

    /// Returns a channel to this service with no socket, for a gateway in the same process.
    pub fn in_process_channel(&self) -> GrpcChannel {
        self.grpc.in_process_channel()
    }

    /// Starts serving, warming the cache and announcing breaker changes under `tasks`; stops the
    /// simulator on shutdown.
    pub fn spawn(self, tasks: &Tasks) {
        let App {
            catalog,
            grpc,
            listener,
            simulator,
            transitions,
            tracker,
            bus,
        } = self;
        if let Some(listener) = listener {
            tasks.spawn("catalog-grpc", grpc.serve(listener, None, tasks.token()));
        }
        catalog.warm();
        tasks.spawn(
            "catalog-provider-events",
            announce(transitions, bus, tasks.token()),
        );
        let token = tasks.token();
        tasks.spawn("catalog-shutdown", async move {
            token.cancelled().await;
            tracker.close();
            if let Some(simulator) = simulator {
                simulator.shutdown().await;
            }
            Ok(())
        });
    }
}

/// Publishes `catalog.provider.degraded` / `.recovered` when a breaker opens or closes. Provider
/// health is not durable state, so these go straight to the bus rather than through an outbox.
async fn announce(
    mut transitions: mpsc::UnboundedReceiver<(Provider, Transition)>,
    bus: EventBus,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let (provider, transition) = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            next = transitions.recv() => match next {
                Some(next) => next,
                None => return Ok(()),
            },
        };
        let event = match transition {
            Transition::Opened => {
                tracing::warn!(%provider, "provider degraded: circuit breaker opened");
                Event::new(
                    names::CATALOG_PROVIDER_DEGRADED,
                    &serde_json::json!({"provider": provider.as_str(), "reason": "consecutive failures opened the circuit breaker"}),
                )
            }
            Transition::Closed => {
                tracing::info!(%provider, "provider recovered: circuit breaker closed");
                Event::new(
                    names::CATALOG_PROVIDER_RECOVERED,
                    &serde_json::json!({"provider": provider.as_str()}),
                )
            }
        }?;
        if let Err(error) = bus.publish(&event).await {
            tracing::warn!(%error, event = event.event, "publishing a provider event failed");
        }
    }
}
