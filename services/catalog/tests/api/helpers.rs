//! A catalog wired to a fresh simulator.

use std::time::Duration;

use gpuproxy_catalog::{App, Catalog, Query};
use gpuproxy_config::EnvMap;
use gpuproxy_events::EventBus;
use gpuproxy_provider_sim::{SimConfig, Simulator};
use gpuproxy_server::{GrpcChannel, HostedService, ServiceContext, Tasks};
use gpuproxy_telemetry::Metrics;

pub struct Harness {
    pub sim: Simulator,
    pub catalog: Catalog,
    pub channel: GrpcChannel,
    pub metrics: Metrics,
    pub bus: EventBus,
    tasks: Tasks,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.tasks.shutdown();
    }
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts a small market (fast to list) with quick retries and a short breaker cooldown.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        gpuproxy_testkit::init_logging();
        let sim_config = SimConfig {
            vastai_offers: 400,
            ionet_devices: 400,
            loading_after: Duration::from_millis(50),
            running_after: Duration::from_millis(250),
            ..SimConfig::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let sim = Simulator::start(sim_config.clone(), listener)
            .await
            .expect("the simulator starts");
        let url = sim.base_url();
        let mut pairs: Vec<(String, String)> = [
            ("VASTAI_API_KEY", sim_config.vastai_api_key.as_str()),
            ("VASTAI_API_URL", url.as_str()),
            ("IONET_API_KEY", sim_config.ionet_api_key.as_str()),
            ("IONET_API_URL", url.as_str()),
            ("GPU_API_TIMEOUT", "2s"),
            ("PROVIDER_RETRY_BACKOFF", "10ms"),
            ("PROVIDER_BREAKER_THRESHOLD", "3"),
            ("PROVIDER_BREAKER_COOLDOWN", "300ms"),
            ("CATALOG_LIST_TIMEOUT", "1s"),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        pairs.extend(
            extra
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        let mut config = gpuproxy_catalog::Config::from_env_map(&EnvMap::from_pairs(pairs), false)
            .unwrap_or_else(|errors| panic!("test configuration: {errors}"));
        config.server.listen = None;
        let bus = EventBus::in_process();
        let context = ServiceContext::new(bus.clone());
        let metrics = context.metrics.clone();
        let app = App::build(config, context).await.expect("the catalog builds");
        let catalog = app.catalog().clone();
        let channel = app.host().in_process_channel();
        let tasks = Tasks::new();
        app.spawn(&tasks);
        Harness {
            sim,
            catalog,
            channel,
            metrics,
            bus,
            tasks,
        }
    }

    /// Waits for the start-up refresh, so a test's faults apply to its own calls only.
    pub async fn warmed(self) -> Self {
        let listing = self.catalog.list(&Query::default()).await;
        assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
        self
    }
}

/// Polls `check` every 50 ms until it returns `Some`, failing after `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up after {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
