//! A reservation service over a catalog wired to a fresh simulator.

use gpuproxy_domain::UserId;
use std::time::Duration;

use gpuproxy_config::{BILLING, CATALOG, EnvMap, GUARDRAILS};
use gpuproxy_events::{Event, EventBus, Subscription};
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;
use gpuproxy_provider_sim::{SimConfig, SimProvider, Simulator};
use gpuproxy_reservation::{App, Reservations};
use gpuproxy_server::{GrpcChannel, HostedService, ServiceContext, Tasks};
use gpuproxy_testkit::TestDatabase;

/// Users of the tests, with fixed ids so that failures read alike run to run.
pub const ALICE: UserId = UserId::from_u128(0x1_0000);
pub const BOB: UserId = UserId::from_u128(0x2_0000);
pub const CAROL: UserId = UserId::from_u128(0x3_0000);
pub const DAVE: UserId = UserId::from_u128(0x4_0000);
pub const ERIN: UserId = UserId::from_u128(0x5_0000);
pub const FRANK: UserId = UserId::from_u128(0x6_0000);
pub const MALLORY: UserId = UserId::from_u128(0x7_0000);

/// Which database the service keeps its rows in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub sim: Simulator,
    pub catalog: GrpcChannel,
    pub service: Reservations,
    pub bus: EventBus,
    _database: TestDatabase,
    pub config: gpuproxy_reservation::Config,
    catalog_tasks: Tasks,
    tasks: Option<Tasks>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.catalog_tasks.shutdown();
        if let Some(tasks) = &self.tasks {
            tasks.shutdown();
        }
    }
}

/// The settings every harness starts with; tests add their own.
const BASE: &[(&str, &str)] = &[
    ("SERVICE_CALL_TIMEOUT", "5s"),
    ("INSTANCE_POLL_INTERVAL", "100ms"),
    ("RECONCILE_INTERVAL", "1h"),
    ("AUTOSTOP_CHECK_INTERVAL", "1h"),
    ("LB_HEALTH_PROBE_INTERVAL", "1h"),
    ("OUTBOX_POLL_INTERVAL", "50ms"),
];

impl Harness {
    /// Starts the simulator, a catalog and the reservation service with its background loops.
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        let mut harness = Self::start_idle(backend, extra).await;
        let app = harness.build_app().await;
        let tasks = Tasks::new();
        app.spawn(&tasks);
        harness.tasks = Some(tasks);
        harness
    }

    /// Starts everything but the reservation service's loops: `service` is the use cases alone, so
    /// a test drives following and reconciling itself.
    pub async fn start_idle(backend: Backend, extra: &[(&str, &str)]) -> Self {
        gpuproxy_testkit::init_logging();
        let sim_config = SimConfig {
            vastai_offers: 200,
            ionet_devices: 200,
            loading_after: Duration::from_millis(50),
            running_after: Duration::from_millis(200),
            ..SimConfig::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let sim = Simulator::start(sim_config.clone(), listener)
            .await
            .expect("the simulator starts");
        let url = sim.base_url();
        let catalog_env = EnvMap::from_pairs([
            ("VASTAI_API_KEY", sim_config.vastai_api_key.as_str()),
            ("VASTAI_API_URL", url.as_str()),
            ("IONET_API_KEY", sim_config.ionet_api_key.as_str()),
            ("IONET_API_URL", url.as_str()),
            ("GPU_API_TIMEOUT", "3s"),
            ("PROVIDER_RETRY_BACKOFF", "10ms"),
            ("PROVIDER_BREAKER_THRESHOLD", "1000"),
        ]);
        let mut catalog_config =
            gpuproxy_catalog::Config::from_env_map(&catalog_env, false).expect("catalog configuration");
        catalog_config.server.listen = None;
        let bus = EventBus::in_process();
        let catalog_app = gpuproxy_catalog::App::build(catalog_config, ServiceContext::new(bus.clone()))
            .await
            .expect("the catalog builds");
        let catalog = catalog_app.host().in_process_channel();
        let catalog_tasks = Tasks::new();
        catalog_app.spawn(&catalog_tasks);

        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let pairs: Vec<(String, String)> = BASE
            .iter()
            .chain(extra)
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let mut config = gpuproxy_reservation::Config::from_env_map(&EnvMap::from_pairs(pairs), false)
            .unwrap_or_else(|errors| panic!("test configuration: {errors}"));
        config.server.listen = None;
        config.database = database.config().clone();
        let app = build(&config, &bus, &catalog).await;
        Harness {
            sim,
            catalog,
            service: app.service().clone(),
            bus,
            _database: database,
            config,
            catalog_tasks,
            tasks: None,
        }
    }

    /// Builds a reservation service over this harness's database and catalog (a restart, when one
    /// ran before), making it the harness's `service`.
    pub async fn build_app(&mut self) -> App {
        let app = build(&self.config, &self.bus, &self.catalog).await;
        self.service = app.service().clone();
        app
    }

    /// Rebuilds the service wired to a billing service and guard rails of its own (on this
    /// harness's database, spending kept in memory), returning the billing use cases. Loops do not run.
    pub async fn with_spending(
        &mut self,
        extra: &[(&str, &str)],
    ) -> (
        gpuproxy_billing::Billing,
        GuardrailsServiceClient<GrpcChannel>,
        Tasks,
    ) {
        let env = EnvMap::from_pairs(extra.iter().copied());
        let mut billing_config =
            gpuproxy_billing::Config::from_env_map(&env, false).expect("billing configuration");
        billing_config.server.listen = None;
        billing_config.database = self.config.database.clone();
        let billing = gpuproxy_billing::App::build(billing_config, ServiceContext::new(self.bus.clone()))
            .await
            .expect("billing builds");
        let mut guardrails_config =
            gpuproxy_guardrails::Config::from_env_map(&env, false).expect("guard rails configuration");
        guardrails_config.server.listen = None;
        guardrails_config.database = self.config.database.clone();
        let guardrails =
            gpuproxy_guardrails::App::build(guardrails_config, ServiceContext::new(self.bus.clone()))
                .await
                .expect("guard rails build");
        let config =
            gpuproxy_reservation::Config::from_env_map(&env, false).expect("reservation configuration");
        let context = ServiceContext::new(self.bus.clone())
            .with_peer(&CATALOG, self.catalog.clone())
            .with_peer(&BILLING, billing.host().in_process_channel())
            .with_peer(&GUARDRAILS, guardrails.host().in_process_channel());
        let app = App::build(
            gpuproxy_reservation::Config {
                credits_enforced: config.credits_enforced,
                stop_at_cap: config.stop_at_cap,
                catalog_call_timeout: Duration::from_secs(5),
                ..self.config.clone()
            },
            context,
        )
        .await
        .expect("the reservation service builds");
        self.service = app.service().clone();
        let handle = billing.billing().clone();
        let guardrails_client = GuardrailsServiceClient::new(guardrails.host().in_process_channel());
        let tasks = Tasks::new();
        billing.spawn(&tasks);
        guardrails.spawn(&tasks);
        (handle, guardrails_client, tasks)
    }

    /// Returns the cheapest offers matching `filters`.
    pub async fn offers(&self, filters: catalog::OfferFilters, limit: i32) -> Vec<catalog::Offer> {
        let mut client = catalog::catalog_service_client::CatalogServiceClient::new(self.catalog.clone());
        client
            .list_offers(catalog::ListOffersRequest {
                filters: Some(filters),
                limit,
                ..catalog::ListOffersRequest::default()
            })
            .await
            .expect("a listing")
            .into_inner()
            .offers
    }

    /// Returns the catalog's client.
    pub fn catalog_client(&self) -> catalog::catalog_service_client::CatalogServiceClient<GrpcChannel> {
        catalog::catalog_service_client::CatalogServiceClient::new(self.catalog.clone())
    }

    /// Returns instances running at both providers.
    pub fn instances_at_providers(&self) -> usize {
        self.sim.instance_count(SimProvider::VastAi) + self.sim.instance_count(SimProvider::IoNet)
    }

    /// Publishes the outbox's pending events, for a harness whose loops do not run.
    pub async fn publish_events(&self) {
        self.service
            .outbox()
            .relay(self.bus.clone(), gpuproxy_events::RelaySettings::default())
            .publish_pending()
            .await
            .expect("events published");
    }

    /// Subscribes to every event.
    pub async fn events(&self) -> Subscription {
        self.bus.subscribe(">").await.expect("a subscription")
    }
}

async fn build(config: &gpuproxy_reservation::Config, bus: &EventBus, catalog: &GrpcChannel) -> App {
    let context = ServiceContext::new(bus.clone()).with_peer(&CATALOG, catalog.clone());
    App::build(config.clone(), context)
        .await
        .expect("the reservation service builds")
}

/// The launch configuration most tests rent with.
pub fn launch(autostop_minutes: i32) -> pb::InstanceConfig {
    pb::InstanceConfig {
        image: "vllm/vllm-openai:latest".to_owned(),
        ports: vec![8000],
        autostop_minutes,
        ..pb::InstanceConfig::default()
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

/// Returns the next event named `name`, skipping others, within `limit`.
pub async fn next_named(events: &mut Subscription, name: &str, limit: Duration) -> Event {
    tokio::time::timeout(limit, async {
        loop {
            let event = events.next_event().await.expect("the bus stays open");
            if event.event == name {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event within {limit:?}"))
}
