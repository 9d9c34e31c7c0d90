//! A webhooks service over a fresh database and a bus the test publishes on.

use std::time::Duration;

use gpuproxy_config::EnvMap;
use gpuproxy_events::{Event, EventBus};
use gpuproxy_proto::gpuproxy::webhooks::v1 as pb;
use gpuproxy_proto::gpuproxy::webhooks::v1::webhook_service_client::WebhookServiceClient;
use gpuproxy_server::{GrpcChannel, HostedService, ServiceContext, Tasks};
use gpuproxy_testkit::TestDatabase;

pub const SECRET: &str = "webhook-secret-for-verification";

/// Which database the service keeps its rows in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub client: WebhookServiceClient<GrpcChannel>,
    pub bus: EventBus,
    pub database: TestDatabase,
    tasks: Tasks,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.tasks.shutdown();
    }
}

/// Fast retries, so dead-letters arrive within a test.
pub const FAST: &[(&str, &str)] = &[
    ("WEBHOOK_ALLOWED_HOSTS", "localhost"),
    ("WEBHOOK_RETRY_BASE", "100ms"),
    ("WEBHOOK_RETRY_MAX_BACKOFF", "300ms"),
    ("WEBHOOK_MAX_ATTEMPTS", "4"),
    ("WEBHOOK_POLL_INTERVAL", "50ms"),
    ("WEBHOOK_TIMEOUT", "2s"),
];

impl Harness {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, EventBus::in_process(), &[]).await
    }

    pub async fn start_with(backend: Backend, bus: EventBus, extra: &[(&str, &str)]) -> Self {
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        Self::start_on(database, bus, extra).await
    }

    /// Starts the service over an existing database (a restart).
    pub async fn start_on(database: TestDatabase, bus: EventBus, extra: &[(&str, &str)]) -> Self {
        gpuproxy_testkit::init_logging();
        let pairs = FAST
            .iter()
            .chain(extra)
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()));
        let mut config = gpuproxy_webhooks::Config::from_env_map(&EnvMap::from_pairs(pairs), false)
            .unwrap_or_else(|errors| panic!("test configuration: {errors}"));
        config.server.listen = None;
        config.database = database.config().clone();
        let app = gpuproxy_webhooks::App::build(config, ServiceContext::new(bus.clone()))
            .await
            .expect("the webhooks service builds");
        let client = WebhookServiceClient::new(app.host().in_process_channel());
        let tasks = Tasks::new();
        app.spawn(&tasks);
        Harness {
            client,
            bus,
            database,
            tasks,
        }
    }

    /// Stops the service and hands its database over for a restart.
    pub async fn stop(mut self) -> TestDatabase {
        assert!(
            self.tasks.shutdown_and_wait(Duration::from_secs(10)).await,
            "the service stops"
        );
        std::mem::replace(&mut self.database, TestDatabase::sqlite())
    }

    pub async fn subscribe(&self, user_id: &str, url: &str, events: &[&str]) -> pb::Subscription {
        self.client
            .clone()
            .create_subscription(pb::CreateSubscriptionRequest {
                user_id: user_id.to_owned(),
                url: url.to_owned(),
                events: events.iter().map(|name| (*name).to_owned()).collect(),
                secret: SECRET.to_owned(),
                ..Default::default()
            })
            .await
            .expect("subscribed")
            .into_inner()
    }

    pub async fn deliveries(&self, user_id: &str, subscription_id: &str) -> Vec<pb::Delivery> {
        self.client
            .clone()
            .list_deliveries(pb::ListDeliveriesRequest {
                user_id: user_id.to_owned(),
                subscription_id: subscription_id.to_owned(),
                ..Default::default()
            })
            .await
            .expect("the log")
            .into_inner()
            .deliveries
    }

    /// Waits until the subscription's only delivery has `status`, and returns it.
    pub async fn wait_for_status(&self, user_id: &str, subscription_id: &str, status: &str) -> pb::Delivery {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let deliveries = self.deliveries(user_id, subscription_id).await;
            if let [only] = deliveries.as_slice()
                && only.status == status
            {
                return only.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {status} delivery within 10 s: {deliveries:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn publish(&self, event: &Event) {
        self.bus.publish(event).await.expect("published");
    }
}

/// An `instance.created` of `user_id`.
pub fn instance_created(user_id: &str, instance_id: &str) -> Event {
    Event::new(
        gpuproxy_events::names::INSTANCE_CREATED,
        &serde_json::json!({"user_id": user_id, "instance_id": instance_id, "provider": "vast.ai", "gpu_model": "RTX 4090"}),
    )
    .expect("json")
}

pub fn fresh_user() -> String {
    uuid::Uuid::now_v7().to_string()
}
