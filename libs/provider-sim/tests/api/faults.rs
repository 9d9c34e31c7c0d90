use std::time::{Duration, Instant};

use gpuproxy_provider_sim::{Faults, SimProvider};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{deploy_body, spawn_sim};

#[tokio::test]
async fn latency_delays_every_response_of_that_provider_only() {
    let app = spawn_sim().await;
    let latency = Duration::from_millis(500);
    let faults = Faults {
        latency_ms: 500,
        ..Faults::default()
    };
    app.sim.set_faults(SimProvider::VastAi, faults);

    let started = Instant::now();
    app.vast_search(json!({"limit": 1})).await;
    assert!(started.elapsed() >= latency);
    let started = Instant::now();
    app.ionet_get("/deployments").await;
    assert!(started.elapsed() < latency);
}

#[tokio::test]
async fn a_delayed_answer_arrives_late_but_the_rent_has_already_happened() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    app.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            answer_delay_ms: 400,
            ..Faults::default()
        },
    );
    let started = Instant::now();
    let create = app.vast_create(offer_id, json!({"image": "x"}));
    let (answer, rented_meanwhile) = tokio::join!(create, async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        app.sim.instance_count(SimProvider::VastAi)
    });
    assert_eq!(
        rented_meanwhile, 1,
        "the instance exists before the answer leaves"
    );
    assert_eq!(answer.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn an_error_rate_of_one_answers_500_with_each_providers_body() {
    let app = spawn_sim().await;
    let always = Faults {
        error_rate: 1.0,
        ..Faults::default()
    };
    app.sim.set_faults(SimProvider::VastAi, always.clone());
    app.sim.set_faults(SimProvider::IoNet, always);

    let vast = app.vast(Method::GET, "/api/v0/instances/").send().await.unwrap();
    assert_eq!(vast.status(), 500);
    let body: Value = vast.json().await.unwrap();
    assert_eq!(
        (body["success"].clone(), body["error"].clone()),
        (json!(false), json!("server_error"))
    );
    let ionet = app.ionet(Method::GET, "/deployments").send().await.unwrap();
    assert_eq!(ionet.status(), 500);
    assert_eq!(
        ionet.json::<Value>().await.unwrap(),
        json!({"detail": "Internal Server Error"})
    );
}

#[tokio::test]
async fn rate_limit_next_answers_that_many_429s_then_recovers() {
    let app = spawn_sim().await;
    let limited = Faults {
        rate_limit_next: 2,
        retry_after_secs: Some(3),
        ..Faults::default()
    };
    app.sim.set_faults(SimProvider::VastAi, limited.clone());
    app.sim.set_faults(SimProvider::IoNet, limited);

    for remaining in [1, 0] {
        let response = app
            .vast(Method::POST, "/api/v0/bundles/")
            .json(&json!({"limit": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "3");
        assert_eq!(response.text().await.unwrap(), "API requests too frequent");
        assert_eq!(app.sim.faults(SimProvider::VastAi).rate_limit_next, remaining);
    }
    assert_eq!(app.vast_search(json!({"limit": 1})).await.len(), 1);

    let ionet = app.ionet(Method::GET, "/deployments").send().await.unwrap();
    assert_eq!(ionet.status(), 429);
    assert_eq!(
        ionet.json::<Value>().await.unwrap(),
        json!({"detail": "Too Many Requests"})
    );
}

#[tokio::test]
async fn a_hanging_provider_runs_into_the_client_timeout() {
    let app = spawn_sim().await;
    app.sim.set_faults(
        SimProvider::IoNet,
        Faults {
            hang: true,
            ..Faults::default()
        },
    );

    let result = app
        .ionet(Method::GET, "/deployments")
        .timeout(Duration::from_millis(300))
        .send()
        .await;

    assert!(result.is_err_and(|error| error.is_timeout()));
    app.sim.shutdown().await;
}

#[tokio::test]
async fn exhausted_capacity_empties_searches_and_fails_creates() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    let (hardware_id, location_id) = app.ionet_capacity(1).await;
    let exhausted = Faults {
        capacity_exhausted: true,
        ..Faults::default()
    };
    app.sim.set_faults(SimProvider::VastAi, exhausted.clone());
    app.sim.set_faults(SimProvider::IoNet, exhausted);

    assert!(app.vast_search(json!({})).await.is_empty());
    let create = app.vast_create(offer_id, json!({"image": "x"})).await;
    assert_eq!(create.status(), 410);
    assert_eq!(create.json::<Value>().await.unwrap()["error"], "no_such_ask");

    let replicas = app
        .ionet_get(&format!(
            "/available-replicas?hardware_id={hardware_id}&hardware_qty=1"
        ))
        .await;
    assert_eq!(replicas, json!({"data": []}));
    let hardware = app.ionet_get("/hardware/max-gpus-per-container").await;
    assert!(
        hardware["data"]["hardware"]
            .as_array()
            .unwrap()
            .iter()
            .all(|entry| entry["available"] == 0)
    );
    let deploy = app
        .ionet(Method::POST, "/deploy")
        .json(&deploy_body("x", hardware_id, location_id))
        .send()
        .await
        .unwrap();
    assert_eq!(deploy.status(), 409);
    assert!(
        deploy.json::<Value>().await.unwrap()["detail"]
            .as_str()
            .unwrap()
            .starts_with("No capacity available")
    );
}

#[tokio::test]
async fn an_offer_that_vanishes_before_create_is_gone_for_good() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    let (hardware_id, location_id) = app.ionet_capacity(1).await;
    let vanish = Faults {
        vanish_before_create: true,
        ..Faults::default()
    };
    app.sim.set_faults(SimProvider::VastAi, vanish.clone());
    app.sim.set_faults(SimProvider::IoNet, vanish);

    let create = app.vast_create(offer_id, json!({"image": "x"})).await;
    assert_eq!(create.status(), 404);
    let body: Value = create.json().await.unwrap();
    assert!(body["msg"].as_str().unwrap().contains("no_such_ask"));
    assert!(app.vast_search(json!({"id": {"eq": offer_id}})).await.is_empty());

    let free_before = app.sim.offer_count(SimProvider::IoNet);
    let deploy = app
        .ionet(Method::POST, "/deploy")
        .json(&deploy_body("x", hardware_id, location_id))
        .send()
        .await
        .unwrap();
    assert_eq!(deploy.status(), 409);
    assert!(deploy.json::<Value>().await.unwrap()["detail"].is_string());
    assert_eq!(app.sim.offer_count(SimProvider::IoNet), free_before - 1);
}

#[tokio::test]
async fn every_api_request_is_recorded_with_its_shape() {
    let app = spawn_sim().await;
    app.vast(Method::POST, "/api/v0/bundles/")
        .json(&json!({"limit": 1}))
        .header("user-agent", "vastai-sdk/1.9.1")
        .send()
        .await
        .unwrap();
    app.ionet(Method::GET, "/deployments?page=0")
        .send()
        .await
        .unwrap();

    let vast = app.sim.requests(SimProvider::VastAi);
    assert_eq!(vast.len(), 1);
    assert_eq!(
        (vast[0].method.as_str(), vast[0].path.as_str()),
        ("POST", "/api/v0/bundles/")
    );
    assert_eq!(vast[0].headers["content-type"], "application/json");
    assert_eq!(vast[0].headers["user-agent"], "vastai-sdk/1.9.1");
    assert_eq!(vast[0].headers["authorization"], "<redacted>");
    assert_eq!(vast[0].body, Some(json!({"limit": 1})));
    let ionet = app.sim.requests(SimProvider::IoNet);
    assert_eq!(ionet[0].query.as_deref(), Some("page=0"));
    assert_eq!(ionet[0].headers["x-api-key"], "<redacted>");

    app.sim.clear_requests();
    assert!(app.sim.requests(SimProvider::VastAi).is_empty());
}
