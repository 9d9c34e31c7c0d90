//! State changes are published on NATS for outside subscribers.

use std::time::Duration;

use futures::StreamExt;
use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status, fresh_email};
use reqwest::{Method, StatusCode};

#[tokio::test]
async fn auth_events_reach_outside_nats_subscribers_as_documented() {
    let fleet = TestFleet::start(Mode::Fleet).await;
    let nats = fleet.nats.clone().expect("the fleet uses NATS");
    let client = async_nats::connect(nats.url.as_deref().expect("url"))
        .await
        .expect("nats is running");
    let mut subscriber = client
        .subscribe(format!("{}.auth.>", nats.subject_prefix))
        .await
        .expect("subscribe");
    let email = fresh_email();

    let user_id = fleet.rest.register(&email).await;
    let token = fleet.rest.login(&email).await;
    let (key_id, _) = fleet.rest.create_key(&token).await;
    let revoke = fleet.rest.request(
        Method::DELETE,
        &format!("/api/v1/auth/apikey/{key_id}"),
        Auth::Bearer(&token),
    );
    expect_status(revoke.send().await.expect("answered"), StatusCode::OK).await;

    let mut seen = Vec::new();
    while seen.len() < 3 {
        let message = tokio::time::timeout(Duration::from_secs(5), subscriber.next())
            .await
            .expect("events arrive within 5 s")
            .expect("subscription open");
        let event: serde_json::Value = serde_json::from_slice(&message.payload).expect("JSON");
        assert_eq!(
            message.subject.as_str(),
            format!(
                "{}.{}",
                nats.subject_prefix,
                event["event"].as_str().expect("name")
            )
        );
        assert_eq!(event["id"].as_str().map(str::len), Some(36));
        assert!(chrono::DateTime::parse_from_rfc3339(event["timestamp"].as_str().expect("time")).is_ok());
        seen.push(event);
    }
    let names: Vec<&str> = seen
        .iter()
        .map(|event| event["event"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["auth.user.created", "auth.apikey.created", "auth.apikey.revoked"]
    );
    assert_eq!(seen[0]["data"]["user_id"], user_id);
    assert_eq!(seen[0]["data"]["email"], email);
    assert_eq!(seen[2]["data"]["key_id"], key_id);

    let jetstream = async_nats::jetstream::new(client);
    let mut stream = jetstream
        .get_stream(&nats.stream)
        .await
        .expect("the stream exists");
    assert_eq!(
        stream.info().await.expect("info").state.messages,
        3,
        "JetStream keeps the events for replay"
    );
}
