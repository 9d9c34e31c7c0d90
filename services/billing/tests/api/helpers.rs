//! A billing service over a fresh database, with fake Stripe, crypto and AfterDark processors and a
//! webhook receiver that hands their callbacks to the service as the gateway does.

use gpuproxy_domain::UserId;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use gpuproxy_billing::{App, Billing, NewUsage};
use gpuproxy_config::EnvMap;
use gpuproxy_errors::ServiceError;
use gpuproxy_events::{Event, EventBus, Subscription};
use gpuproxy_payment_sim::{FakeAfterDark, FakeNowPayments, FakeStripe};
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_client::BillingServiceClient;
use gpuproxy_server::{GrpcChannel, HostedService, ServiceContext, Tasks};
use gpuproxy_testkit::TestDatabase;

pub const STRIPE_KEY: &str = "sk_test_billing";
pub const STRIPE_WEBHOOK_SECRET: &str = "whsec_billing_test";
pub const CRYPTO_KEY: &str = "np_test_key";
pub const CRYPTO_IPN_SECRET: &str = "ipn_test_secret";
pub const AFTERDARK_KEY: &str = "ad_test_key";

/// Which database the service keeps its rows in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub billing: Billing,
    pub client: BillingServiceClient<GrpcChannel>,
    pub bus: EventBus,
    pub stripe: FakeStripe,
    pub crypto: FakeNowPayments,
    pub afterdark: FakeAfterDark,
    pub database: TestDatabase,
    tasks: Tasks,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.tasks.shutdown();
    }
}

impl Harness {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        gpuproxy_testkit::init_logging();
        let stripe = FakeStripe::start(STRIPE_KEY, STRIPE_WEBHOOK_SECRET)
            .await
            .expect("fake stripe");
        let crypto = FakeNowPayments::start(CRYPTO_KEY, CRYPTO_IPN_SECRET)
            .await
            .expect("fake crypto");
        let afterdark = FakeAfterDark::start(AFTERDARK_KEY).await.expect("fake afterdark");
        let database = match backend {
            Backend::Sqlite => TestDatabase::sqlite(),
            Backend::Postgres => TestDatabase::postgres().await,
        };
        let tasks = Tasks::new();
        let bus = EventBus::in_process();
        let receiver = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let receiver_url = format!("http://{}", receiver.local_addr().expect("an address"));
        let (stripe_url, crypto_url, afterdark_url) =
            (stripe.base_url(), crypto.base_url(), afterdark.base_url());
        let mut pairs: Vec<(String, String)> = [
            ("STRIPE_SECRET_KEY", STRIPE_KEY),
            ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
            ("STRIPE_API_URL", stripe_url.as_str()),
            ("CRYPTO_ENABLED", "true"),
            ("CRYPTO_API_URL", crypto_url.as_str()),
            ("CRYPTO_API_KEY", CRYPTO_KEY),
            ("CRYPTO_IPN_SECRET", CRYPTO_IPN_SECRET),
            ("AFTERDARK_API_URL", afterdark_url.as_str()),
            ("AFTERDARK_API_KEY", AFTERDARK_KEY),
            ("BILLING_WEBHOOK_BASE_URL", receiver_url.as_str()),
            ("PAYMENT_TIMEOUT", "3s"),
            ("OUTBOX_POLL_INTERVAL", "50ms"),
        ]
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
        pairs.extend(
            extra
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned())),
        );
        let mut config = gpuproxy_billing::Config::from_env_map(&EnvMap::from_pairs(pairs), false)
            .unwrap_or_else(|errors| panic!("test configuration: {errors}"));
        config.server.listen = None;
        config.database = database.config().clone();
        let app = App::build(config, ServiceContext::new(bus.clone()))
            .await
            .expect("the billing service builds");
        let billing = app.billing().clone();
        let client = BillingServiceClient::new(app.host().in_process_channel());
        app.spawn(&tasks);
        let router = axum::Router::new()
            .route(
                "/api/v1/billing/webhooks/{provider}",
                axum::routing::post(receive),
            )
            .with_state(billing.clone());
        tasks.spawn("test-webhook-receiver", async move {
            axum::serve(receiver, router).await?;
            Ok(())
        });
        stripe.set_webhook_url(&format!("{receiver_url}/api/v1/billing/webhooks/stripe"));
        Harness {
            billing,
            client,
            bus,
            stripe,
            crypto,
            afterdark,
            database,
            tasks,
        }
    }

    /// Subscribes to every event.
    pub async fn events(&self) -> Subscription {
        self.bus.subscribe(">").await.expect("a subscription")
    }

    /// Asserts the balance is the sum of the ledger entries, and returns it.
    pub async fn balance_matches_ledger(&self, user_id: UserId) -> i64 {
        let account = self.billing.credits(user_id).await.expect("credits");
        let (_, sum) = self.billing.ledger_sum(user_id).await.expect("the ledger sum");
        assert_eq!(
            account.balance_micros, sum,
            "the balance is the sum of the entries"
        );
        sum
    }

    /// Counts rows of `table` (payments, usage_records, …) for a user.
    pub async fn rows(&self, table: &str, user_id: UserId) -> i64 {
        let database = gpuproxy_db::Database::connect(self.database.config())
            .await
            .expect("database");
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE user_id = $1"
        )))
        .bind(user_id.to_string())
        .fetch_one(database.pool())
        .await
        .expect("a count")
    }
}

/// The gateway's webhook route in miniature: raw body and signature header to the service.
async fn receive(
    State(billing): State<Billing>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = if provider == "stripe" {
        "stripe-signature"
    } else {
        "x-nowpayments-sig"
    };
    let signature = headers
        .get(header)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    match billing.handle_webhook(&provider, signature, &body).await {
        Ok(_) => StatusCode::OK,
        Err(error) => error.code().http_status(),
    }
}

/// Waits for the next event named `name`, skipping others. The bound is generous for a whole suite
/// sharing two cores; the renewals that once missed it were not slow but abandoned (a UUID taken
/// for a card number, fixed in the card check).
pub async fn next_named(events: &mut Subscription, name: &str) -> Event {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let event = events.next_event().await.expect("the bus is open");
            if event.event == name {
                return event;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event within 20 s"))
}

/// Returns the events named `name` that arrive within `wait`.
pub async fn collect_named(events: &mut Subscription, name: &str, wait: Duration) -> Vec<Event> {
    let mut found = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        while let Some(event) = events.next_event().await {
            if event.event == name {
                found.push(event);
            }
        }
    })
    .await;
    found
}

pub fn user() -> UserId {
    UserId::generate()
}

pub const fn dollars(amount: i64) -> i64 {
    amount * 1_000_000
}

/// Usage of nothing by `user_id`, for tests to fill in.
pub fn blank_usage(user_id: UserId) -> NewUsage {
    NewUsage {
        user_id,
        kind: "request".to_owned(),
        cost_micros: 0,
        client_id: String::new(),
        client_ip: String::new(),
        instance_id: String::new(),
        started_at_ms: 0,
        duration_ms: 0,
        description: String::new(),
        idempotency_key: String::new(),
        enforce_cap: false,
        hold_id: String::new(),
    }
}
