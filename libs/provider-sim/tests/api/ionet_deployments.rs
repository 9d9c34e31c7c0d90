use std::time::Duration;

use gpuproxy_provider_sim::{SimConfig, SimProvider};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{deploy_body, poll_until, quick_config, spawn_sim, spawn_sim_with, upstream_client};

#[tokio::test]
async fn a_deployment_boots_serves_and_refuses_connections_once_destroyed() {
    let config = SimConfig {
        loading_after: Duration::from_millis(50),
        running_after: Duration::from_millis(150),
        ..quick_config()
    };
    let app = spawn_sim_with(config).await;
    let free_before = app.sim.offer_count(SimProvider::IoNet);

    let id = app.ionet_deploy("job-a").await;
    let detail = app.ionet_get(&format!("/deployment/{id}")).await;
    assert_eq!(detail["data"]["status"], "deployment requested");
    assert!(detail["data"]["started_at"].is_null());
    let containers = app.ionet_get(&format!("/deployment/{id}/containers")).await;
    assert!(containers["data"]["workers"][0]["public_url"].is_null());
    assert_eq!(app.sim.offer_count(SimProvider::IoNet), free_before - 1);

    let url = app.wait_for_public_url(&id).await;
    assert_eq!(
        app.ionet_get(&format!("/deployment/{id}")).await["data"]["status"],
        "running"
    );
    let upstream = upstream_client();
    let health: Value = upstream
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health,
        json!({"status": "ok", "instance_id": id, "provider": "io.net"})
    );
    let completion = json!({"prompt": "say this", "stream": true});
    let stream = upstream
        .post(format!("{url}/v1/completions"))
        .json(&completion)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert!(stream.text().await.unwrap().trim_end().ends_with("data: [DONE]"));
    let echoed: Value = upstream
        .put(format!("{url}/anything?x=1"))
        .body("raw")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            echoed["method"].as_str(),
            echoed["path"].as_str(),
            echoed["query"].as_str()
        ),
        (Some("PUT"), Some("/anything"), Some("x=1"))
    );
    assert_eq!(echoed["body"], "raw");

    let destroyed: Value = app
        .ionet(Method::DELETE, &format!("/deployment/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        destroyed,
        json!({"status": "termination requested", "deployment_id": id})
    );
    assert!(
        upstream_client()
            .get(format!("{url}/health"))
            .send()
            .await
            .is_err(),
        "the listener is closed"
    );
    assert_eq!(app.sim.offer_count(SimProvider::IoNet), free_before);
    let status = poll_until(|| async {
        let status = app.ionet_get(&format!("/deployment/{id}")).await["data"]["status"].clone();
        (status == "destroyed").then_some(status)
    })
    .await;
    assert_eq!(status, "destroyed");
    app.sim.shutdown().await;
}

#[tokio::test]
async fn the_flat_body_is_accepted_too() {
    let app = spawn_sim().await;
    let (hardware_id, location_id) = app.ionet_capacity(1).await;
    let flat = json!({
        "resource_private_name": "flat", "duration_hours": 1, "gpus_per_container": 1,
        "hardware_id": hardware_id, "location_ids": [location_id],
        "replica_count": 1, "traffic_port": 8000, "image_url": "img:latest",
    });
    let response = app
        .ionet(Method::POST, "/deploy")
        .json(&flat)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.json::<Value>().await.unwrap()["deployment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = app.ionet_get(&format!("/deployment/{id}")).await;
    assert_eq!(detail["data"]["container_config"]["image_url"], "img:latest");
    assert_eq!(detail["data"]["locations"][0]["id"], location_id);
}

#[tokio::test]
async fn names_are_unique_among_live_deployments() {
    let app = spawn_sim().await;
    let id = app.ionet_deploy("same-name").await;
    let (hardware_id, location_id) = app.ionet_capacity(1).await;
    let duplicate = app
        .ionet(Method::POST, "/deploy")
        .json(&deploy_body("same-name", hardware_id, location_id))
        .send()
        .await
        .unwrap();
    assert_eq!(duplicate.status(), 409);
    assert!(
        duplicate.json::<Value>().await.unwrap()["detail"]
            .as_str()
            .unwrap()
            .contains("same-name")
    );

    app.ionet(Method::DELETE, &format!("/deployment/{id}"))
        .send()
        .await
        .unwrap();
    let reused = app
        .ionet(Method::POST, "/deploy")
        .json(&deploy_body("same-name", hardware_id, location_id))
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), 200);
}

#[tokio::test]
async fn deploys_beyond_the_credit_balance_are_refused_with_402() {
    let app = spawn_sim_with(SimConfig {
        ionet_credits_usd: 1.0,
        ..quick_config()
    })
    .await;
    let (hardware_id, location_id) = app.ionet_capacity(1).await;
    let mut body = deploy_body("expensive", hardware_id, location_id);
    body["duration_hours"] = json!(100);
    let response = app
        .ionet(Method::POST, "/deploy")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 402);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"detail": "Insufficient funds"})
    );
    assert_eq!(app.sim.instance_count(SimProvider::IoNet), 0);
}

#[tokio::test]
async fn invalid_deploy_bodies_get_fastapi_422s() {
    let app = spawn_sim().await;
    let not_json = app
        .ionet(Method::POST, "/deploy")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 422);
    assert_eq!(
        not_json.json::<Value>().await.unwrap()["detail"][0]["type"],
        "json_invalid"
    );

    let mut body = deploy_body("x", 203, 9);
    body["container_config"]
        .as_object_mut()
        .unwrap()
        .remove("replica_count");
    body["gpus_per_container"] = json!(9);
    let response = app
        .ionet(Method::POST, "/deploy")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let detail = response.json::<Value>().await.unwrap()["detail"].clone();
    assert_eq!(detail[0]["loc"], json!(["body", "gpus_per_container"]));
    assert_eq!(detail[0]["type"], "less_than_equal");
    assert_eq!(
        detail[1]["loc"],
        json!(["body", "container_config", "replica_count"])
    );
    assert_eq!(detail[1]["type"], "missing");

    let unknown_hardware = app
        .ionet(Method::POST, "/deploy")
        .json(&deploy_body("x", 999, 9))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_hardware.status(), 404);
}

#[tokio::test]
async fn the_list_filters_by_status_and_pages() {
    let app = spawn_sim().await;
    let first = app.ionet_deploy("one").await;
    let second = app.ionet_deploy("two").await;
    app.ionet(Method::DELETE, &format!("/deployment/{first}"))
        .send()
        .await
        .unwrap();

    let everything = app.ionet_get("/deployments").await;
    assert_eq!(everything["data"]["total"], 2);
    assert_eq!(everything["data"]["deployments"][0]["id"], second, "newest first");
    let running = app.ionet_get("/deployments?status=running").await;
    assert_eq!(running["data"]["total"], 1);
    assert_eq!(running["data"]["deployments"][0]["name"], "two");
    let second_page = app.ionet_get("/deployments?page=1&page_size=1").await;
    assert_eq!(second_page["data"]["deployments"].as_array().unwrap().len(), 1);
    assert_eq!(second_page["data"]["deployments"][0]["id"], first);
    assert!(
        everything["data"]["statuses"]
            .as_array()
            .unwrap()
            .contains(&json!("running"))
    );

    let too_big = app
        .ionet(Method::GET, "/deployments?page_size=101")
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 422);
    let bad_status = app
        .ionet(Method::GET, "/deployments?status=RUNNING")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_status.status(), 422);
}

#[tokio::test]
async fn unknown_deployments_are_404_and_malformed_ids_422() {
    let app = spawn_sim().await;
    let unknown = app
        .ionet(Method::GET, "/deployment/3fa85f64-5717-4562-b3fc-2c963f66afa6")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(
        unknown.json::<Value>().await.unwrap(),
        json!({"detail": "Not found"})
    );
    let malformed = app
        .ionet(Method::DELETE, "/deployment/not-a-uuid")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 422);
}
