//! Shared steps of the rental flows: a user with a key, reservations, waiting for instances to run.

use std::time::Duration;

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Registers a user and returns an API key of theirs.
pub async fn user_key(fleet: &TestFleet) -> String {
    let (_, token) = fleet.rest.new_user().await;
    fleet.rest.create_key(&token).await.1
}

/// Reserves `count` GPUs of `provider` ("" for any) and returns the response body.
pub async fn reserve(fleet: &TestFleet, key: &str, count: i32, provider: &str) -> Value {
    let body = json!({
        "count": count,
        "filters": {"provider": provider},
        "config": {"image": "vllm/vllm-openai:latest", "ports": [8000]},
    });
    expect_status(
        fleet
            .rest
            .post("/api/v1/gpu/instances/reserve", Auth::Key(key), &body)
            .await,
        StatusCode::CREATED,
    )
    .await
}

/// Waits until the caller has exactly `count` instances, all running; returns them.
pub async fn running(fleet: &TestFleet, key: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let mine = expect_status(
            fleet.rest.get("/api/v1/gpu/instances/mine", Auth::Key(key)).await,
            StatusCode::OK,
        )
        .await;
        let instances = mine["data"].as_array().cloned().unwrap_or_default();
        if instances.len() == count && instances.iter().all(|instance| instance["status"] == "running") {
            return instances;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "instances did not run: {mine}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Credits `email` with `usd` as the admin whose token is `admin`.
pub async fn credit(fleet: &TestFleet, admin: &str, email: &str, usd: f64) {
    let credited = fleet
        .rest
        .request(Method::POST, "/api/v1/admin/credits/add", Auth::Bearer(admin))
        .json(&json!({"email": email, "amount": usd}))
        .send()
        .await
        .expect("answered");
    expect_status(credited, StatusCode::OK).await;
}

/// Sets `email`'s 60-minute spending limit to `usd` as the admin whose token is `admin`.
pub async fn limit_hour(fleet: &TestFleet, admin: &str, email: &str, usd: f64) {
    let limited = fleet
        .rest
        .request(
            Method::PUT,
            "/api/v1/admin/guardrails/limits",
            Auth::Bearer(admin),
        )
        .json(&json!({"email": email, "limits": {"60min": usd}}))
        .send()
        .await
        .expect("answered");
    expect_status(limited, StatusCode::OK).await;
}

/// Destroys every instance of the caller.
pub async fn destroy_all(fleet: &TestFleet, key: &str) {
    let mine = expect_status(
        fleet.rest.get("/api/v1/gpu/instances/mine", Auth::Key(key)).await,
        StatusCode::OK,
    )
    .await;
    for instance in mine["data"].as_array().cloned().unwrap_or_default() {
        let path = format!(
            "/api/v1/gpu/instances/{}/{}",
            instance["provider"].as_str().expect("provider"),
            instance["instance_id"].as_str().expect("id")
        );
        let response = fleet
            .rest
            .request(Method::DELETE, &path, Auth::Key(key))
            .send()
            .await
            .expect("answered");
        expect_status(response, StatusCode::OK).await;
    }
}

/// A fleet started with `extra` and a bootstrap admin: the admin's token, and a new user's email
/// and API key (the user has no credits yet).
pub async fn fleet_with_admin(mode: Mode, extra: &[(&str, &str)]) -> (TestFleet, String, String, String) {
    let mut env = vec![
        ("BOOTSTRAP_ADMIN_EMAIL", "root@example.com"),
        ("BOOTSTRAP_ADMIN_PASSWORD", "secure-password"),
    ];
    env.extend_from_slice(extra);
    let fleet = TestFleet::start_with(mode, &env).await;
    let admin = fleet.rest.login_as("root@example.com", "secure-password").await;
    let (email, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    (fleet, admin, email, key)
}
