//! The load balancer end to end: each strategy's distribution over the caller's running instances,
//! measured through the streaming route, and switched at run time.

use std::collections::HashMap;
use std::time::Duration;

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rentals::{destroy_all, reserve, running, user_key};

async fn set_strategy(fleet: &TestFleet, key: &str, strategy: &str) {
    let response = fleet
        .rest
        .request(Method::PUT, "/api/v1/loadbalancer/strategy", Auth::Key(key))
        .json(&json!({"strategy": strategy}))
        .send()
        .await
        .expect("answered");
    let set = expect_status(response, StatusCode::OK).await;
    assert_eq!(set["strategy"], strategy);
}

/// Sends one request through the streaming route and returns the instance that answered.
async fn routed(fleet: &TestFleet, key: &str, delay_ms: u64) -> String {
    let response = fleet
        .rest
        .request(Method::GET, "/api/v1/gpu/route/work", Auth::Key(key))
        .header(gpuproxy_provider_sim::DELAY_HEADER, delay_ms.to_string())
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    let instance = response.headers()["x-gpu-instance"]
        .to_str()
        .expect("text")
        .to_owned();
    let _ = response.bytes().await;
    instance
}

async fn count(fleet: &TestFleet, key: &str, requests: usize) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for _ in 0..requests {
        *counts.entry(routed(fleet, key, 0).await).or_default() += 1;
    }
    counts
}

async fn loads(fleet: &TestFleet, key: &str) -> Value {
    expect_status(
        fleet
            .rest
            .get("/api/v1/loadbalancer/loads?type=server", Auth::Key(key))
            .await,
        StatusCode::OK,
    )
    .await
}

/// Waits until no request is in flight on the caller's instances: results are reported to the
/// balancer as soon as an answer ends, but after the client has read it.
async fn settle(fleet: &TestFleet, key: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let report = loads(fleet, key).await;
        let busy = report["data"]["server_load"]
            .as_array()
            .expect("loads")
            .iter()
            .any(|load| load["active_connections"] != 0);
        if !busy {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "requests still in flight: {report}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The flows here send more requests than the default per-minute limit.
const UNLIMITED: &[(&str, &str)] = &[("RATE_LIMIT_PER_MINUTE", "100000")];

async fn each_strategy_spreads_requests_as_it_promises(mode: Mode) {
    let fleet = TestFleet::start_with(mode, UNLIMITED).await;
    let key = user_key(&fleet).await;
    let strategy = expect_status(
        fleet
            .rest
            .get("/api/v1/loadbalancer/strategy", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        strategy["strategy"], "round_robin",
        "LB_STRATEGY until the user chooses"
    );
    reserve(&fleet, &key, 3, "").await;
    let instances = running(&fleet, &key, 3).await;

    // Round robin: exact.
    let counts = count(&fleet, &key, 30).await;
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.values().all(|count| *count == 10), "{counts:?}");

    // Weighted round robin: proportional to the weights the balancer reports.
    set_strategy(&fleet, &key, "weighted_round_robin").await;
    settle(&fleet, &key).await;
    let weights: HashMap<String, f64> = loads(&fleet, &key).await["data"]["server_load"]
        .as_array()
        .expect("loads")
        .iter()
        .map(|load| {
            (
                load["instance_id"].as_str().expect("id").to_owned(),
                load["weight"].as_f64().expect("weight"),
            )
        })
        .collect();
    let total: f64 = weights.values().sum();
    let picks = 60;
    let counts = count(&fleet, &key, picks).await;
    for (instance, weight) in &weights {
        let expected = weight / total * picks as f64;
        let got = counts.get(instance).copied().unwrap_or(0) as f64;
        assert!(
            (got - expected).abs() <= 2.0,
            "{instance}: {got} picks for weight {weight} (expected {expected:.1})"
        );
    }

    // Least connections: concurrent long requests go one to each instance before any doubles up.
    set_strategy(&fleet, &key, "least_connections").await;
    settle(&fleet, &key).await;
    let concurrent = futures::future::join_all((0..6).map(|_| routed(&fleet, &key, 600))).await;
    let mut per_instance: HashMap<&str, usize> = HashMap::new();
    for instance in &concurrent {
        *per_instance.entry(instance.as_str()).or_default() += 1;
    }
    assert_eq!(per_instance.len(), 3, "{per_instance:?}");
    assert!(per_instance.values().all(|count| *count == 2), "{per_instance:?}");

    // Least response time: once measured (one round robin turn each), a slowed instance gets
    // little of the traffic.
    let slow = instances[0]["instance_id"].as_str().expect("id").to_owned();
    fleet
        .simulator
        .as_ref()
        .expect("a simulator")
        .set_upstream_delay(&slow, Duration::from_millis(150));
    set_strategy(&fleet, &key, "round_robin").await;
    settle(&fleet, &key).await;
    count(&fleet, &key, 3).await;
    settle(&fleet, &key).await;
    set_strategy(&fleet, &key, "least_response_time").await;
    let counts = count(&fleet, &key, 30).await;
    let to_slow = counts.get(&slow).copied().unwrap_or(0);
    assert!(to_slow <= 3, "the slow instance got {to_slow} of 30: {counts:?}");
    let report = loads(&fleet, &key).await;
    let slow_load = report["data"]["server_load"]
        .as_array()
        .expect("loads")
        .iter()
        .find(|load| load["instance_id"] == slow.as_str())
        .cloned()
        .expect("listed");
    assert!(
        slow_load["last_response_time_ms"].as_f64().expect("last") >= 140.0,
        "{slow_load}"
    );
    let one = expect_status(
        fleet
            .rest
            .get(
                &format!("/api/v1/loadbalancer/load?instance_id={slow}"),
                Auth::Key(&key),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["data"]["instance_id"], slow.as_str());
    assert_eq!(report["data"]["strategy"], "least_response_time");
    destroy_all(&fleet, &key).await;
}

async fn bad_strategies_and_load_queries_are_refused(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    let response = fleet
        .rest
        .request(Method::PUT, "/api/v1/loadbalancer/strategy", Auth::Key(&key))
        .json(&json!({"strategy": "fastest"}))
        .send()
        .await
        .expect("answered");
    let refused = expect_status(response, StatusCode::BAD_REQUEST).await;
    assert_eq!(refused["code"], "VALIDATION_FAILED");
    let refused = expect_status(
        fleet
            .rest
            .get("/api/v1/loadbalancer/loads?type=gpus", Auth::Key(&key))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(refused["field"], "type");
    let refused = expect_status(
        fleet.rest.get("/api/v1/loadbalancer/load", Auth::Key(&key)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(refused["field"], "instance_id");
    let missing = expect_status(
        fleet
            .rest
            .get("/api/v1/loadbalancer/load?instance_id=42", Auth::Key(&key))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(missing["code"], "NOT_FOUND");
    let providers = expect_status(
        fleet
            .rest
            .get("/api/v1/loadbalancer/loads?type=provider", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        providers["data"]["provider_load"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(providers["data"]["server_load"], json!([]));
}

crate::in_both_modes!(
    each_strategy_spreads_requests_as_it_promises,
    bad_strategies_and_load_queries_are_refused,
);
