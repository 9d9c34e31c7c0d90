//! An internal service that dies mid-request: the caller is told the service is unavailable and when
//! to retry, and a retry with the same `Idempotency-Key` answers with what the interrupted request
//! rented, once the restarted service has adopted it. Fleet only: the embedded server is one process.

use std::time::Duration;

use gpuproxy_config::RESERVATION;
use gpuproxy_integration_tests::{Auth, TestFleet};
use gpuproxy_provider_sim::{Faults, SimProvider};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const KEY: &str = "outage-reservation-1";

async fn reserve(
    rest: &gpuproxy_integration_tests::RestClient,
    key: &str,
) -> (StatusCode, Option<String>, Value) {
    let response = rest
        .request(Method::POST, "/api/v1/gpu/instances/reserve", Auth::Key(key))
        .header("Idempotency-Key", KEY)
        .json(&json!({"count": 4, "config": {"image": "vllm/vllm-openai:latest"}}))
        .send()
        .await
        .expect("answered");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_service_killed_mid_reserve_is_503_and_the_retry_finds_the_adopted_rents() {
    let mut fleet = TestFleet::start_killable(&RESERVATION, &[]).await;
    let (_, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    let simulator = fleet.simulator.as_ref().expect("the fleet's simulator");
    // The providers rent at once but answer late: the kill lands after the rents, before the
    // reservation service learns of them.
    for provider in [SimProvider::VastAi, SimProvider::IoNet] {
        simulator.set_faults(
            provider,
            Faults {
                answer_delay_ms: 2_000,
                ..Faults::default()
            },
        );
    }
    let rest = fleet.rest.clone();
    let ((status, retry_after, body), ()) = tokio::join!(reserve(&rest, &key), async {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        fleet.kill();
    });
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE", "{body}");
    assert!(retry_after.is_some_and(|seconds| seconds.parse::<u64>().is_ok_and(|seconds| seconds >= 1)));

    let simulator = fleet.simulator.as_ref().expect("the fleet's simulator");
    for provider in [SimProvider::VastAi, SimProvider::IoNet] {
        simulator.set_faults(provider, Faults::default());
    }
    let rented = simulator.instance_count(SimProvider::VastAi) + simulator.instance_count(SimProvider::IoNet);
    assert!(rented > 0, "the providers rented before the kill");
    fleet.restart().await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, _, body) = reserve(&fleet.rest, &key).await;
        let adopted: Vec<&str> = body["reserved"]
            .as_array()
            .map(|reserved| {
                reserved
                    .iter()
                    .filter_map(|instance| instance["instance_id"].as_str())
                    .filter(|id| !id.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if status == StatusCode::CREATED && adopted.len() == rented {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the retry never answered with the {rented} adopted rents: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let simulator = fleet.simulator.as_ref().expect("the fleet's simulator");
    assert_eq!(
        simulator.instance_count(SimProvider::VastAi) + simulator.instance_count(SimProvider::IoNet),
        rented,
        "the retry rented nothing more"
    );
}
