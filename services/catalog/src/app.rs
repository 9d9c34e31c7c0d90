//! Building and running the catalog service.

use std::time::Duration;

use gpuproxy_config::{CATALOG, ExposeSecret, InternalServerConfig, Reader, SecretString, ServiceSpec};
use gpuproxy_domain::Provider;
use gpuproxy_events::{Event, EventBus, names};
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_server::CatalogServiceServer;
use gpuproxy_proto::gpuproxy::events::v1::{ProviderDegraded, ProviderRecovered};
use gpuproxy_server::{HostedService, ServiceContext, ServiceHost, Tasks};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::Routes;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::grpc::GrpcCatalog;
use crate::providers::ProviderClient;
use crate::providers::breaker::{Breaker, Transition};
use crate::providers::http::{HttpSettings, ProviderHttp};
use crate::providers::ionet::IoNetClient;
use crate::providers::metrics::ProviderMetrics;
use crate::providers::vastai::VastAiClient;

/// The catalog service, built and ready to run.
#[derive(Debug)]
pub struct App {
    catalog: Catalog,
    host: ServiceHost,
    transitions: mpsc::UnboundedReceiver<(Provider, Transition)>,
    tracker: TaskTracker,
    bus: EventBus,
    /// How long an opened breaker waits before a probe call, announced with the opening.
    breaker_cooldown: Duration,
}

impl App {
    /// Returns the use cases.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }
}

impl HostedService for App {
    type Config = Config;

    const SPEC: &'static ServiceSpec = &CATALOG;

    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Config {
        Config::read(reader, developer_mode)
    }

    fn server_config(config: &mut Config) -> &mut InternalServerConfig {
        &mut config.server
    }

    /// Builds the provider clients, the catalog and the gRPC server; binds the listener when the
    /// configuration names one.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let market = &config.marketplace;
        let provider_metrics = ProviderMetrics::register(&context.metrics);
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
        let mut clients = Vec::new();
        if let Some(key) = &market.vastai_api_key {
            let bearer = SecretString::from(format!("Bearer {}", key.expose_secret()));
            let transport = http(
                Provider::VastAi,
                market.vastai_api_url.clone(),
                ("authorization", bearer),
            )?;
            clients.push(ProviderClient::VastAi(VastAiClient::new(
                transport,
                config.vastai_search_limit,
            )));
        }
        if let Some(key) = &market.ionet_api_key {
            let transport = http(
                Provider::IoNet,
                market.ionet_api_url.clone(),
                ("x-api-key", key.clone()),
            )?;
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
            market.simulated,
            provider_metrics,
            tracker.clone(),
        );
        let routes = Routes::new(CatalogServiceServer::new(GrpcCatalog::new(
            catalog.clone(),
            tracker.clone(),
        )));
        // Provider health is not the catalog's: it answers (from its cache, or saying which
        // provider failed) whatever the providers do, so it is always serving.
        let host = ServiceHost::new(&CATALOG, routes, &config.server)?.bind().await?;
        Ok(App {
            catalog,
            host,
            transitions,
            tracker,
            bus: context.bus,
            breaker_cooldown: config.breaker.cooldown,
        })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Starts serving, warming the cache and announcing breaker changes; waits for creates in
    /// progress on shutdown.
    fn spawn(self, tasks: &Tasks) {
        let App {
            catalog,
            host,
            transitions,
            tracker,
            bus,
            breaker_cooldown,
        } = self;
        host.spawn(tasks);
        catalog.warm();
        tasks.spawn(
            "catalog-provider-events",
            announce(transitions, bus, breaker_cooldown, tasks.token()),
        );
        let token = tasks.token();
        tasks.spawn("catalog-shutdown", async move {
            token.cancelled().await;
            tracker.close();
            Ok(())
        });
    }

    /// Says which providers are configured; a process that simulates them says so itself.
    fn describe(config: &Config) -> Vec<(&'static str, String)> {
        if config.marketplace.simulated {
            return Vec::new();
        }
        let configured = config.marketplace.configured();
        let providers = if configured.is_empty() {
            "none configured (set VASTAI_API_KEY / IONET_API_KEY)".to_owned()
        } else {
            configured.join(", ")
        };
        vec![("providers", providers)]
    }
}

/// Publishes `catalog.provider.degraded` / `.recovered` when a breaker opens or closes. Provider
/// health is not durable state, so these go straight to the bus rather than through an outbox.
async fn announce(
    mut transitions: mpsc::UnboundedReceiver<(Provider, Transition)>,
    bus: EventBus,
    cooldown: Duration,
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
                    &ProviderDegraded {
                        provider: provider.as_str().to_owned(),
                        reason: "consecutive failures opened the circuit breaker".to_owned(),
                        retry_in_seconds: i64::try_from(cooldown.as_secs()).unwrap_or(i64::MAX),
                    },
                )
            }
            Transition::Closed => {
                tracing::info!(%provider, "provider recovered: circuit breaker closed");
                Event::new(
                    names::CATALOG_PROVIDER_RECOVERED,
                    &ProviderRecovered {
                        provider: provider.as_str().to_owned(),
                    },
                )
            }
        }?;
        if let Err(error) = bus.publish(&event).await {
            tracing::warn!(%error, event = event.event, "publishing a provider event failed");
        }
    }
}
