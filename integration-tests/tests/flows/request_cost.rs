//! `PROXY_REQUEST_COST`: each proxied request is paid before it is sent, atomically against the
//! credit cap and the guard rails.

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use reqwest::StatusCode;
use serde_json::json;

use crate::in_both_modes;
use crate::rentals::{credit, destroy_all, reserve, running};

in_both_modes!(proxied_requests_are_paid_for_before_they_are_sent);

async fn proxied_requests_are_paid_for_before_they_are_sent(mode: Mode) {
    let fleet = TestFleet::start_with(
        mode,
        &[
            ("PROXY_REQUEST_COST", "0.5"),
            ("GUARDRAILS_ENABLED", "true"),
            ("GUARDRAILS_MAX_60MIN_RATE", "1.5"),
            ("BOOTSTRAP_ADMIN_EMAIL", "root@example.com"),
            ("BOOTSTRAP_ADMIN_PASSWORD", "secure-password"),
            ("RATE_LIMIT_PER_MINUTE", "100000"),
        ],
    )
    .await;
    let admin = fleet.rest.login_as("root@example.com", "secure-password").await;
    let (email, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    reserve(&fleet, &key, 1, "io.net").await;
    running(&fleet, &key, 1).await;
    let body = json!({"protocol": "http", "path": "/health"});
    let proxy = || fleet.rest.post("/api/v1/gpu/proxy", Auth::Key(&key), &body);

    let refused = expect_status(proxy().await, StatusCode::PAYMENT_REQUIRED).await;
    assert_eq!(
        refused["code"], "CREDITS_EXHAUSTED",
        "no credits, no cap: {refused}"
    );
    credit(&fleet, &admin, &email, 10.0).await;

    // The refusal gave its guard-rail reservation back: the whole $1.50 hour is there, three requests.
    for _ in 0..3 {
        expect_status(proxy().await, StatusCode::OK).await;
    }
    let limited = expect_status(proxy().await, StatusCode::PAYMENT_REQUIRED).await;
    assert_eq!(limited["code"], "SPENDING_LIMIT_EXCEEDED", "{limited}");
    let routed = fleet.rest.get("/api/v1/gpu/route/health", Auth::Key(&key)).await;
    assert_eq!(
        routed.status(),
        StatusCode::PAYMENT_REQUIRED,
        "the streaming route pays too"
    );

    let usage = expect_status(
        fleet.rest.get("/api/v1/user/usage", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    let requests: Vec<&serde_json::Value> = usage["data"]["usage"]
        .as_array()
        .expect("usage")
        .iter()
        .filter(|record| record["kind"] == "request")
        .collect();
    assert_eq!(requests.len(), 3, "three requests were paid: {usage}");
    assert!(requests.iter().all(|record| record["cost"] == 0.5));
    let credits = expect_status(
        fleet.rest.get("/api/v1/user/credits", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(credits["data"]["credits_remaining"], 8.5);
    let spending = expect_status(
        fleet
            .rest
            .get("/api/v1/guardrails/spending", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    let hour = spending["data"]["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .find(|window| window["window"] == "60min")
        .cloned()
        .expect("the hour");
    assert_eq!(hour["spent"], 1.5, "paid requests only: {spending}");
    destroy_all(&fleet, &key).await;
}
