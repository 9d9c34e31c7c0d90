//! Events survive a NATS outage and a service stopped between its commit and the publish, with a
//! NATS server of the test's own that it stops for real.

use std::time::Duration;

use gpuproxy_config::EnvMap;
use gpuproxy_integration_tests::{HookReceiver, Mode, PrivateNats, TestFleet};
use gpuproxy_server::{HostedService, ServiceContext};

#[tokio::test]
async fn an_event_produced_while_nats_is_down_reaches_the_webhook_once_nats_is_back() {
    let mut nats = PrivateNats::start().await;
    let fleet = TestFleet::start_with(Mode::Fleet, &[("NATS_URL", nats.url.as_str())]).await;
    let (_, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    let hook = HookReceiver::start().await;
    fleet
        .rest
        .subscribe_webhook(&key, &hook.url, &["auth.apikey.*"])
        .await;
    let (before, _) = fleet.rest.create_key(&token).await;
    let first = hook.wait_for(1, Duration::from_secs(15)).await.remove(0);
    assert_eq!(first.json()["data"]["key_id"], before.as_str());

    nats.stop();
    let (during, _) = fleet.rest.create_key(&token).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(hook.received().len(), 1, "nothing travels while NATS is down");

    nats.resume().await;
    let received = hook.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(received[1].json()["event"], "auth.apikey.created");
    assert_eq!(received[1].json()["data"]["key_id"], during.as_str());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ids: std::collections::HashSet<String> = hook
        .received()
        .iter()
        .map(|request| request.header("x-gpuproxy-event-id").to_owned())
        .collect();
    assert_eq!((hook.received().len(), ids.len()), (2, 2), "each event once");
}

#[tokio::test]
async fn a_service_stopped_between_its_commit_and_the_publish_publishes_after_it_restarts() {
    let mut nats = PrivateNats::start().await;
    let database = gpuproxy_testkit::TestDatabase::postgres().await;
    let mut nats_config = gpuproxy_testkit::nats_config();
    nats_config.url = Some(nats.url.clone());
    let env = EnvMap::from_pairs([
        (
            "JWT_SECRET".to_owned(),
            gpuproxy_integration_tests::JWT_SECRET.to_owned(),
        ),
        ("OUTBOX_POLL_INTERVAL".to_owned(), "50ms".to_owned()),
    ]);
    let mut config = gpuproxy_auth::Config::from_env_map(&env, true).expect("valid");
    config.database = database.config().clone();
    config.server.listen = None;

    nats.stop();
    let bus = gpuproxy_events::EventBus::connect(&nats_config)
        .await
        .expect("connects in the background");
    let auth = gpuproxy_auth::App::build(config.clone(), ServiceContext::new(bus))
        .await
        .expect("auth builds without NATS");
    let user = auth
        .service()
        .register(gpuproxy_auth::Registration {
            email: &gpuproxy_integration_tests::fresh_email(),
            password: "correct-horse-battery",
            name: "Outage",
            is_admin: false,
        })
        .await
        .expect("registered: the state change commits");
    let tasks = gpuproxy_server::Tasks::new();
    auth.spawn(&tasks);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        tasks.shutdown_and_wait(Duration::from_secs(10)).await,
        "the service stops"
    );
    let db = gpuproxy_db::Database::connect(database.config())
        .await
        .expect("database");
    let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM event_outbox WHERE published_at IS NULL")
        .fetch_one(db.pool())
        .await
        .expect("a count");
    assert_eq!(waiting, 1, "the event waits in the outbox");

    nats.resume().await;
    let bus = gpuproxy_events::EventBus::connect(&nats_config)
        .await
        .expect("nats");
    let auth = gpuproxy_auth::App::build(config, ServiceContext::new(bus))
        .await
        .expect("auth builds again");
    let tasks = gpuproxy_server::Tasks::new();
    auth.spawn(&tasks);
    let client = async_nats::connect(nats.url.as_str()).await.expect("nats");
    let jetstream = async_nats::jetstream::new(client);
    let subject = format!("{}.auth.user.created", nats_config.subject_prefix);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let published = loop {
        let found = match jetstream.get_stream(&nats_config.stream).await {
            Ok(stream) => stream.get_last_raw_message_by_subject(&subject).await.ok(),
            Err(_) => None,
        };
        if let Some(message) = found {
            break message;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "published within 20 s of the restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let event: serde_json::Value = serde_json::from_slice(&published.payload).expect("JSON");
    assert_eq!(event["data"]["user_id"], user.id.to_string());
    tasks.shutdown();
}

/// A stream of someone else's already captures the fleet's subjects: nothing can be published.
/// Health says so (degraded, with the reason) instead of `ok`, and once the conflict is gone the
/// events that waited in the outboxes go out.
#[tokio::test]
async fn a_conflicting_stream_makes_health_degraded_with_the_reason_and_events_flow_once_it_is_gone() {
    let nats = gpuproxy_testkit::nats_config();
    let client = async_nats::connect(nats.url.as_deref().expect("a url"))
        .await
        .expect("nats");
    let jetstream = async_nats::jetstream::new(client.clone());
    let blocker = format!("{}_BLOCKER", nats.stream);
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: blocker.clone(),
            subjects: vec![format!("{}.>", nats.subject_prefix)],
            ..Default::default()
        })
        .await
        .expect("the blocking stream");
    let fleet = TestFleet::start_with(
        Mode::Fleet,
        &[
            ("NATS_STREAM", nats.stream.as_str()),
            ("NATS_SUBJECT_PREFIX", nats.subject_prefix.as_str()),
        ],
    )
    .await;

    let health = health_of(&fleet).await;
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["services"]["events"], "unhealthy", "{health}");
    let problems = health["problems"].to_string();
    assert!(
        problems.contains(&nats.stream) && problems.contains("cannot be used"),
        "{health}"
    );

    let mut created = client
        .subscribe(format!("{}.auth.user.created", nats.subject_prefix))
        .await
        .expect("a subscription");
    let (email, _) = fleet.rest.new_user().await;
    jetstream
        .delete_stream(&blocker)
        .await
        .expect("the blocker is gone");
    let message = tokio::time::timeout(Duration::from_secs(30), futures::StreamExt::next(&mut created))
        .await
        .expect("the waiting event goes out once the stream can be made")
        .expect("a message");
    let event: serde_json::Value = serde_json::from_slice(&message.payload).expect("an event");
    assert_eq!(event["data"]["email"], email.as_str());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let health = health_of(&fleet).await;
        if health["status"] == "ok" {
            assert!(health.get("problems").is_none(), "{health}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never ok again: {health}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn health_of(fleet: &TestFleet) -> serde_json::Value {
    fleet
        .rest
        .get("/health", gpuproxy_integration_tests::Auth::None)
        .await
        .json()
        .await
        .expect("JSON")
}
