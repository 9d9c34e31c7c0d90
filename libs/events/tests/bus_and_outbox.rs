//! Both buses deliver the same events; the outbox publishes exactly what committed, even after an outage.
#![allow(clippy::expect_used, reason = "a test fails loudly at the step that broke")]

use std::time::Duration;

use gpuproxy_config::NatsConfig;
use gpuproxy_db::Database;
use gpuproxy_events::{Delivery, Event, EventBus, Outbox, RelaySettings, Subscription, names};
use gpuproxy_testkit::TestDatabase;
use tokio_util::sync::CancellationToken;

#[derive(serde::Serialize)]
struct Revoked<'a> {
    key_id: &'a str,
}

fn revoked(key_id: &str) -> Event {
    Event::new(names::AUTH_APIKEY_REVOKED, &Revoked { key_id }).expect("json")
}

async fn next(subscription: &mut Subscription) -> Event {
    tokio::time::timeout(Duration::from_secs(5), subscription.next_event())
        .await
        .expect("an event within 5 s")
        .expect("the bus is open")
}

async fn nats_bus() -> (EventBus, NatsConfig) {
    let config = gpuproxy_testkit::nats_config();
    (EventBus::connect(&config).await.expect("nats is running"), config)
}

async fn subscribers_get_matching_events_only(bus: EventBus) {
    let mut auth = bus.subscribe("auth.>").await.expect("subscribe");
    let mut created = bus.subscribe("*.*.created").await.expect("subscribe");
    bus.publish(&revoked("k1")).await.expect("publish");
    let user = Event::new(names::AUTH_USER_CREATED, &serde_json::json!({"user_id": "u1"})).expect("json");
    bus.publish(&user).await.expect("publish");

    assert_eq!(next(&mut auth).await.event, names::AUTH_APIKEY_REVOKED);
    assert_eq!(next(&mut auth).await.id, user.id);
    assert_eq!(
        next(&mut created).await.id,
        user.id,
        "the revocation did not match *.*.created"
    );
}

#[tokio::test]
async fn in_process_subscribers_get_matching_events_only() {
    subscribers_get_matching_events_only(EventBus::in_process()).await;
}

#[tokio::test]
async fn nats_subscribers_get_matching_events_only() {
    subscribers_get_matching_events_only(nats_bus().await.0).await;
}

#[tokio::test]
async fn an_in_process_subscriber_that_falls_behind_is_told_it_missed_events() {
    let bus = EventBus::in_process();
    let mut subscription = bus.subscribe("auth.>").await.expect("subscribe");
    for n in 0..5000 {
        bus.publish(&revoked(&format!("k{n}"))).await.expect("publish");
    }
    assert_eq!(
        subscription.next().await,
        Some(Delivery::Missed),
        "the buffer overflowed"
    );
    assert!(
        matches!(subscription.next().await, Some(Delivery::Event(_))),
        "and events flow again"
    );
}

#[tokio::test]
async fn a_lost_nats_connection_is_reported_as_a_gap() {
    let (bus, config) = nats_bus().await;
    let mut subscription = bus.subscribe("auth.>").await.expect("subscribe");
    bus.publish(&revoked("before")).await.expect("publish");
    next(&mut subscription).await;

    // A proxy between client and server stands for a network cut: closing it drops the connection.
    let server = config
        .url
        .as_deref()
        .expect("url")
        .trim_start_matches("nats://")
        .to_owned();
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mut proxied = config.clone();
    proxied.url = Some(format!("nats://{}", proxy.local_addr().expect("addr")));
    let cut = tokio_util::sync::CancellationToken::new();
    let relay = relay_connections(proxy, server, cut.clone());
    let watched = async {
        let bus = EventBus::connect(&proxied)
            .await
            .expect("connect through the proxy");
        let mut subscription = bus.subscribe("auth.>").await.expect("subscribe");
        bus.publish(&revoked("through-proxy")).await.expect("publish");
        loop {
            match subscription.next().await.expect("open") {
                Delivery::Event(event) if event.data["key_id"] == "through-proxy" => break,
                _ => {}
            }
        }
        cut.cancel();
        tokio::time::timeout(Duration::from_secs(10), subscription.next())
            .await
            .expect("reported within 10 s")
    };
    let ((), gap) = tokio::join!(relay, watched);
    assert_eq!(gap, Some(Delivery::Missed));
}

/// Forwards connections to `server` until `cut`, then drops them all.
async fn relay_connections(
    listener: tokio::net::TcpListener,
    server: String,
    cut: tokio_util::sync::CancellationToken,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = cut.cancelled() => break,
            accepted = listener.accept() => {
                let (mut client, _) = accepted.expect("accept");
                let server = server.clone();
                connections.spawn(async move {
                    let mut upstream = tokio::net::TcpStream::connect(server).await.expect("nats");
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        }
    }
    connections.abort_all();
}

#[tokio::test]
async fn nats_keeps_published_events_in_the_stream() {
    let (bus, config) = nats_bus().await;
    bus.publish(&revoked("k1")).await.expect("publish");
    bus.publish(&revoked("k2")).await.expect("publish");
    let client = async_nats::connect(config.url.as_deref().expect("url"))
        .await
        .expect("connect");
    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream
        .get_stream(&config.stream)
        .await
        .expect("the stream exists");
    assert_eq!(stream.info().await.expect("info").state.messages, 2);
    jetstream.delete_stream(&config.stream).await.expect("cleanup");
}

async fn outbox_publishes_committed_events_only(database: TestDatabase, bus: EventBus) {
    let database = Database::connect(database.config()).await.expect("connect");
    gpuproxy_events::migrations()
        .run(&database)
        .await
        .expect("migrate");
    let outbox = Outbox::new(database.clone(), "auth");
    let mut subscription = bus.subscribe("auth.>").await.expect("subscribe");

    let rolled_back = revoked("rolled-back");
    let mut transaction = database.pool().begin().await.expect("begin");
    outbox.write(&mut transaction, &rolled_back).await.expect("write");
    transaction.rollback().await.expect("rollback");

    let committed = revoked("committed");
    let mut transaction = database.pool().begin().await.expect("begin");
    outbox.write(&mut transaction, &committed).await.expect("write");
    transaction.commit().await.expect("commit");

    let relay = outbox.relay(bus, RelaySettings::default());
    assert_eq!(relay.publish_pending().await.expect("relay"), 1);
    assert_eq!(next(&mut subscription).await.id, committed.id);
    assert_eq!(outbox.pending().await.expect("count"), 0);
    assert_eq!(
        relay.publish_pending().await.expect("relay"),
        0,
        "published rows are not sent again"
    );
}

#[tokio::test]
async fn sqlite_outbox_publishes_committed_events_only() {
    outbox_publishes_committed_events_only(TestDatabase::sqlite(), EventBus::in_process()).await;
}

#[tokio::test]
async fn postgres_outbox_publishes_committed_events_only() {
    outbox_publishes_committed_events_only(TestDatabase::postgres().await, nats_bus().await.0).await;
}

#[tokio::test]
async fn events_written_while_nats_is_unreachable_are_delivered_once_it_is_back() {
    let test_database = TestDatabase::postgres().await;
    let database = Database::connect(test_database.config()).await.expect("connect");
    gpuproxy_events::migrations()
        .run(&database)
        .await
        .expect("migrate");
    let outbox = Outbox::new(database.clone(), "auth");
    let event = revoked("during-outage");
    let mut transaction = database.pool().begin().await.expect("begin");
    outbox.write(&mut transaction, &event).await.expect("write");
    transaction.commit().await.expect("commit");

    // A bus whose server is down: nothing listens on this port.
    let (_, mut config) = nats_bus().await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    config.url = Some(format!("nats://{}", listener.local_addr().expect("addr")));
    drop(listener);
    let down = EventBus::connect(&config)
        .await
        .expect("connects in the background");
    let failed = tokio::time::timeout(
        Duration::from_secs(10),
        outbox.relay(down, RelaySettings::default()).publish_pending(),
    )
    .await
    .expect("gives up rather than hangs");
    assert!(failed.is_err(), "publishing to a dead server fails");
    assert_eq!(
        outbox.pending().await.expect("count"),
        1,
        "the event waits in the outbox"
    );

    let (up, _) = nats_bus().await;
    let mut subscription = up.subscribe("auth.>").await.expect("subscribe");
    let token = CancellationToken::new();
    let relay = outbox.relay(up, RelaySettings::default()).run(token.clone());
    let delivered = async {
        let delivered = next(&mut subscription).await;
        token.cancel();
        delivered
    };
    let (relayed, delivered) = tokio::join!(relay, delivered);
    relayed.expect("relay ends cleanly");
    assert_eq!(delivered.id, event.id);
    assert_eq!(outbox.pending().await.expect("count"), 0);
}
