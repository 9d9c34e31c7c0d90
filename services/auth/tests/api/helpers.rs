//! `spawn_app` and typed calls.

use std::time::Duration;

use gpuproxy_auth::{App, Config, SessionMode};
use gpuproxy_config::{EnvMap, NatsConfig, RedisConfig};
use gpuproxy_errors::{ErrorCode, code_of};
use gpuproxy_events::{Event, EventBus, Subscription};
use gpuproxy_proto::gpuproxy::auth::v1 as proto;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use gpuproxy_server::{GrpcChannel, HostedService, ServiceContext, Tasks};
use gpuproxy_testkit::TestDatabase;

/// Which backends the service runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backends {
    /// SQLite, in-memory session store, in-process bus.
    Embedded,
    /// PostgreSQL, Redis, NATS JetStream.
    Fleet,
}

pub struct TestApp {
    pub client: AuthServiceClient<GrpcChannel>,
    pub bus: EventBus,
    tasks: Tasks,
    _database: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.tasks.shutdown();
    }
}

pub const PASSWORD: &str = "correct horse battery";

pub async fn spawn_app(backends: Backends) -> TestApp {
    spawn_app_with(backends, SessionMode::Balanced).await
}

pub async fn spawn_app_with(backends: Backends, session_mode: SessionMode) -> TestApp {
    gpuproxy_testkit::init_logging();
    let env = EnvMap::from_pairs([("JWT_SECRET", "test-secret-test-secret-test-secret!")]);
    let mut config = Config::from_env_map(&env, false).expect("valid test configuration");
    let (database, redis, nats) = match backends {
        Backends::Embedded => (
            TestDatabase::sqlite(),
            RedisConfig::in_memory(),
            NatsConfig::in_process(),
        ),
        Backends::Fleet => (
            TestDatabase::postgres().await,
            gpuproxy_testkit::redis_config(),
            gpuproxy_testkit::nats_config(),
        ),
    };
    config.database = database.config().clone();
    config.redis = redis;
    config.session_mode = session_mode;
    config.server.listen = Some("127.0.0.1:0".parse().expect("address"));
    config.outbox_poll_interval = Duration::from_millis(50);
    let bus = EventBus::connect(&nats).await.expect("bus");
    let app = App::build(config, ServiceContext::new(bus.clone()))
        .await
        .expect("the auth service builds");
    let addr = app.host().grpc_addr().expect("bound");
    let tasks = Tasks::new();
    app.spawn(&tasks);
    let channel = gpuproxy_server::connect_lazy(&format!("http://{addr}"), Duration::from_secs(5), None)
        .expect("a channel");
    TestApp {
        client: AuthServiceClient::new(channel),
        bus,
        tasks,
        _database: database,
    }
}

/// Returns a fresh email address.
pub fn email() -> String {
    format!("user-{}@example.com", uuid::Uuid::now_v7().simple())
}

impl TestApp {
    pub async fn register(&self, email: &str) -> proto::User {
        self.client
            .clone()
            .register(proto::RegisterRequest {
                email: email.to_owned(),
                password: PASSWORD.to_owned(),
                name: "Test User".to_owned(),
            })
            .await
            .expect("registered")
            .into_inner()
    }

    pub async fn login(&self, email: &str) -> proto::LoginResponse {
        self.client
            .clone()
            .login(proto::LoginRequest {
                email: email.to_owned(),
                password: PASSWORD.to_owned(),
                ..Default::default()
            })
            .await
            .expect("logged in")
            .into_inner()
    }

    pub async fn authenticate_token(&self, token: &str) -> Result<proto::Principal, tonic::Status> {
        let credential = proto::authenticate_request::Credential::BearerToken(token.to_owned());
        self.authenticate(credential).await
    }

    pub async fn authenticate_key(&self, key: &str) -> Result<proto::Principal, tonic::Status> {
        self.authenticate(proto::authenticate_request::Credential::ApiKey(key.to_owned()))
            .await
    }

    async fn authenticate(
        &self,
        credential: proto::authenticate_request::Credential,
    ) -> Result<proto::Principal, tonic::Status> {
        self.client
            .clone()
            .authenticate(proto::AuthenticateRequest {
                credential: Some(credential),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    pub async fn create_key(&self, user_id: &str, name: &str) -> proto::CreateApiKeyResponse {
        self.client
            .clone()
            .create_api_key(proto::CreateApiKeyRequest {
                user_id: user_id.to_owned(),
                name: name.to_owned(),
                expires_at_ms: 0,
            })
            .await
            .expect("key created")
            .into_inner()
    }
}

/// Asserts that `result` failed with `code`.
pub fn assert_code<T: std::fmt::Debug>(result: Result<T, tonic::Status>, code: ErrorCode) -> tonic::Status {
    let status = result.expect_err("the call fails");
    assert_eq!(code_of(&status), code, "{status:?}");
    status
}

/// Returns the next event on `subscription`, waiting at most 5 s.
pub async fn next_event(subscription: &mut Subscription) -> Event {
    tokio::time::timeout(Duration::from_secs(5), subscription.next_event())
        .await
        .expect("an event within 5 s")
        .expect("the bus is open")
}

/// Runs `$test` (an `async fn(Backends)`) once per backend set, as two tests.
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod embedded {
            $(#[tokio::test] async fn $test() { super::$test($crate::helpers::Backends::Embedded).await })*
        }
        mod fleet {
            $(#[tokio::test] async fn $test() { super::$test($crate::helpers::Backends::Fleet).await })*
        }
    };
}
