//! A guardrails service on a fresh store and database.

use std::sync::Arc;

use gpuproxy_config::EnvMap;
use gpuproxy_events::EventBus;
use gpuproxy_proto::gpuproxy::guardrails::v1 as pb;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_server::{GrpcChannel, HostedService, ServiceContext, Tasks};
use gpuproxy_testkit::TestDatabase;

/// Which store backs the ledgers, and so which database the limits live in: memory with SQLite
/// (embedded), Redis with PostgreSQL (the fleet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Memory,
    Redis,
}

pub struct TestApp {
    pub client: GuardrailsServiceClient<GrpcChannel>,
    pub bus: EventBus,
    config: gpuproxy_guardrails::Config,
    database: Arc<TestDatabase>,
    tasks: Tasks,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.tasks.shutdown();
    }
}

/// Starts the service with `$50` in the 60-minute window, `$200` a day, and `extra` variables.
pub async fn spawn_app(store: Store, extra: &[(&str, &str)]) -> TestApp {
    gpuproxy_testkit::init_logging();
    let mut pairs: Vec<(String, String)> = [
        ("GUARDRAILS_ENABLED", "true"),
        ("GUARDRAILS_MAX_60MIN_RATE", "50.00"),
        ("GUARDRAILS_MAX_1440MIN_RATE", "200.00"),
    ]
    .iter()
    .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
    .collect();
    pairs.extend(
        extra
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
    );
    let mut config = gpuproxy_guardrails::Config::from_env_map(&EnvMap::from_pairs(pairs), false)
        .unwrap_or_else(|errors| panic!("test configuration: {errors}"));
    config.server.listen = None;
    let database = match store {
        Store::Memory => TestDatabase::sqlite(),
        Store::Redis => {
            config.redis = gpuproxy_testkit::redis_config();
            TestDatabase::postgres().await
        }
    };
    config.database = database.config().clone();
    start(config, Arc::new(database)).await
}

impl TestApp {
    /// Starts another replica over the same database and Redis (a memory store stays its own):
    /// also what a restart looks like.
    pub async fn replica(&self) -> TestApp {
        start(self.config.clone(), self.database.clone()).await
    }
}

async fn start(config: gpuproxy_guardrails::Config, database: Arc<TestDatabase>) -> TestApp {
    let bus = EventBus::in_process();
    let app = gpuproxy_guardrails::App::build(config.clone(), ServiceContext::new(bus.clone()))
        .await
        .expect("builds");
    let client = GuardrailsServiceClient::new(app.host().in_process_channel());
    let tasks = Tasks::new();
    app.spawn(&tasks);
    TestApp {
        client,
        bus,
        config,
        database,
        tasks,
    }
}

/// Runs an `async fn(Store)` on memory and SQLite, and on Redis and PostgreSQL.
#[macro_export]
macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test] async fn $test() { super::$test($crate::helpers::Store::Memory).await })*
        }
        mod redis {
            $(#[tokio::test] async fn $test() { super::$test($crate::helpers::Store::Redis).await })*
        }
    };
}

/// What the service counts as `user`'s spending in the window `label` ("60min").
pub async fn spent(client: &mut GuardrailsServiceClient<GrpcChannel>, user: &str, label: &str) -> i64 {
    let info = client
        .get_spending_info(pb::GetSpendingInfoRequest {
            user_id: user.to_owned(),
        })
        .await
        .expect("info")
        .into_inner();
    info.windows
        .iter()
        .find(|window| window.window == label)
        .expect("the window")
        .spent_micros
}

/// A user id no other test uses.
pub fn fresh_user() -> String {
    gpuproxy_domain::UserId::generate().to_string()
}
