//! Webhooks through the gateway: a user's real events arrive signed, and only theirs.

use std::time::Duration;

use gpuproxy_integration_tests::{Auth, HookReceiver, Mode, TestFleet, expect_status, verify_signature};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::in_both_modes;
use crate::rentals::{destroy_all, reserve, user_key};

in_both_modes!(
    a_users_instance_events_reach_their_webhook_signed_and_nobody_elses,
    bad_webhooks_are_refused_with_a_code,
);

const SECRET: &str = "webhook-secret-for-verification";

async fn a_users_instance_events_reach_their_webhook_signed_and_nobody_elses(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (alice, bob) = (user_key(&fleet).await, user_key(&fleet).await);
    let (alice_hook, bob_hook) = (HookReceiver::start().await, HookReceiver::start().await);
    // Seed 002, as written.
    let created = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/webhooks",
                Auth::Key(&alice),
                &json!({
                    "url": alice_hook.url,
                    "events": ["instance.created", "instance.destroyed", "payment.completed"],
                    "secret": SECRET,
                }),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let webhook_id = created["data"]["id"].as_str().expect("an id").to_owned();
    assert_eq!(created["data"]["secret"], SECRET);
    let billing = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/webhooks/billing",
                Auth::Key(&bob),
                &json!({"url": bob_hook.url, "events": ["payment.success", "payment.failed"]}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        billing["data"]["events"],
        json!(["payment.completed", "payment.failed"])
    );
    assert!(
        billing["data"]["secret"]
            .as_str()
            .expect("a secret")
            .starts_with("whsec_")
    );
    let bob_all = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/webhooks",
                Auth::Key(&bob),
                &json!({"url": bob_hook.url, "secret": SECRET}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        bob_all["data"]["events"].as_array().expect("events").len() > 10,
        "no list: every event"
    );

    let reserved = reserve(&fleet, &alice, 1, "").await;
    let instance_id = reserved["reserved"][0]["instance_id"]
        .as_str()
        .expect("an instance")
        .to_owned();
    let request = alice_hook.wait_for(1, Duration::from_secs(10)).await.remove(0);
    verify_signature(&request, SECRET, Duration::from_secs(300)).expect("the signature verifies");
    let body = request.json();
    assert_eq!(body["event"], "instance.created");
    assert_eq!(body["data"]["instance_id"], instance_id);
    assert_eq!(
        request.header("x-gpuproxy-event-id"),
        body["id"].as_str().unwrap()
    );

    destroy_all(&fleet, &alice).await;
    let requests = alice_hook.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(requests[1].json()["event"], "instance.destroyed");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(alice_hook.received().len(), 2, "one delivery per event");
    assert!(
        bob_hook
            .received()
            .iter()
            .all(|request| request.json()["data"]["user_id"] != body["data"]["user_id"]),
        "bob never receives alice's events"
    );

    let log = expect_status(
        fleet
            .rest
            .get(
                &format!("/api/v1/webhooks/{webhook_id}/deliveries"),
                Auth::Key(&alice),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(log["data"]["total"], 2);
    let deliveries = log["data"]["deliveries"].as_array().expect("deliveries");
    assert!(
        deliveries
            .iter()
            .all(|delivery| delivery["status"] == "delivered" && delivery["attempts"] == 1)
    );
    let listed = expect_status(
        fleet.rest.get("/api/v1/webhooks", Auth::Key(&alice)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["count"], 1);
    assert!(
        listed["data"][0].get("secret").is_none(),
        "listing never shows the secret"
    );
    assert_eq!(listed["data"][0]["delivered"], 2);

    let path = format!("/api/v1/webhooks/{webhook_id}");
    expect_status(
        fleet.rest.get(&path, Auth::Key(&bob)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let deleted = fleet
        .rest
        .request(Method::DELETE, &path, Auth::Key(&bob))
        .send()
        .await
        .expect("answered");
    expect_status(deleted, StatusCode::NOT_FOUND).await;
    let deleted = fleet
        .rest
        .request(Method::DELETE, &path, Auth::Key(&alice))
        .send()
        .await
        .expect("answered");
    expect_status(deleted, StatusCode::OK).await;
    expect_status(
        fleet.rest.get(&path, Auth::Key(&alice)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn bad_webhooks_are_refused_with_a_code(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    let cases = [
        (
            json!({"url": "http://127.0.0.1/", "secret": SECRET}),
            StatusCode::FORBIDDEN,
            "TARGET_FORBIDDEN",
        ),
        (
            json!({"url": "http://169.254.169.254/latest/meta-data/", "secret": SECRET}),
            StatusCode::FORBIDDEN,
            "TARGET_FORBIDDEN",
        ),
        (
            json!({"url": "http://localhost:9/", "events": ["instance.exploded"]}),
            StatusCode::BAD_REQUEST,
            "UNKNOWN_EVENT",
        ),
        (
            json!({"url": "http://localhost:9/", "secret": "short"}),
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        ),
        (
            json!({"events": ["instance.created"]}),
            StatusCode::BAD_REQUEST,
            "VALIDATION_FAILED",
        ),
        (
            json!({"url": "http://localhost:9/", "all_users": true}),
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
        ),
    ];
    for (body, status, code) in cases {
        let answer = expect_status(
            fleet.rest.post("/api/v1/webhooks", Auth::Key(&key), &body).await,
            status,
        )
        .await;
        assert_eq!(answer["code"], code, "{body}");
    }
    let billing = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/webhooks/billing",
                Auth::Key(&key),
                &json!({"url": "http://localhost:9/", "events": ["instance.created"]}),
            )
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(billing["code"], "UNKNOWN_EVENT");
    let listed = expect_status(
        fleet.rest.get("/api/v1/webhooks", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["count"], 0, "nothing was stored");
    expect_status(
        fleet.rest.get("/api/v1/webhooks", Auth::None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}
