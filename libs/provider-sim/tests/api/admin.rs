use gpuproxy_provider_sim::{Faults, SimProvider};
use serde_json::{Value, json};

use crate::helpers::spawn_sim;

#[tokio::test]
async fn faults_can_be_set_read_and_cleared_over_http() {
    let app = spawn_sim().await;
    let url = app.url("/_sim/faults/vast.ai");

    let set = app
        .client
        .put(&url)
        .json(&json!({"rate_limit_next": 2, "latency_ms": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let expected = Faults {
        rate_limit_next: 2,
        latency_ms: 5,
        ..Faults::default()
    };
    assert_eq!(app.sim.faults(SimProvider::VastAi), expected);
    let read: Faults = app.client.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(read, expected);

    let cleared = app.client.delete(&url).send().await.unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(app.sim.faults(SimProvider::VastAi), Faults::default());
}

#[tokio::test]
async fn bad_fault_bodies_and_unknown_providers_are_refused() {
    let app = spawn_sim().await;
    let unknown = app.client.get(app.url("/_sim/faults/aws")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let typo = app
        .client
        .put(app.url("/_sim/faults/io.net"))
        .json(&json!({"latency": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(typo.status(), 400);
    let out_of_range = app
        .client
        .put(app.url("/_sim/faults/io.net"))
        .json(&json!({"error_rate": 2.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(out_of_range.status(), 400);
}

#[tokio::test]
async fn state_reports_both_markets() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    app.vast_rent(offer_id).await;

    let state: Value = app
        .client
        .get(app.url("/_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(state["vast.ai"]["instances"], 1);
    assert_eq!(
        state["vast.ai"]["offers"],
        app.sim.offer_count(SimProvider::VastAi)
    );
    assert_eq!(state["io.net"]["offers"], app.sim.offer_count(SimProvider::IoNet));
    assert_eq!(state["io.net"]["instances"], 0);
    assert!(
        app.sim
            .requests(SimProvider::VastAi)
            .iter()
            .all(|request| !request.path.starts_with("/_sim"))
    );
}
