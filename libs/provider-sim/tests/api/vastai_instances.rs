use std::time::Duration;

use gpuproxy_provider_sim::{SimConfig, SimProvider};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{quick_config, spawn_sim, spawn_sim_with, upstream_client};

/// Returns `http://public_ipaddr:HostPort` of the instance's container port 8000.
fn inference_url(instance: &Value) -> String {
    let host = instance["public_ipaddr"].as_str().unwrap();
    let port = instance["ports"]["8000/tcp"][0]["HostPort"].as_str().unwrap();
    format!("http://{host}:{port}")
}

#[tokio::test]
async fn an_instance_boots_serves_inference_and_refuses_connections_once_destroyed() {
    let config = SimConfig {
        loading_after: Duration::from_millis(50),
        running_after: Duration::from_millis(150),
        ..quick_config()
    };
    let app = spawn_sim_with(config).await;
    let offer_id = app.rentable_offer_id().await;

    let instance_id = app.vast_rent(offer_id).await;
    let booting = app.vast_instance(instance_id).await;
    assert_ne!(booting["actual_status"], "running");
    assert_eq!(booting["intended_status"], "running");
    assert!(booting["ports"].is_null(), "ports appear only once running");

    let running = app.wait_for_vast_running(instance_id).await;
    let base = inference_url(&running);
    let upstream = upstream_client();
    let health: Value = upstream
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health,
        json!({"status": "ok", "instance_id": instance_id, "provider": "vast.ai"})
    );

    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hello there"}]});
    let reply: Value = upstream
        .post(format!("{base}/v1/chat/completions"))
        .json(&chat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["choices"][0]["message"]["content"], "hello there");
    assert_eq!(reply["object"], "chat.completion");

    let stream_request = json!({"messages": [{"role": "user", "content": "one two three"}], "stream": true});
    let stream = upstream
        .post(format!("{base}/v1/chat/completions"))
        .json(&stream_request)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let text = stream.text().await.unwrap();
    let events: Vec<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let streamed: String = events[..events.len() - 1]
        .iter()
        .map(|event| serde_json::from_str::<Value>(event).unwrap())
        .filter_map(|chunk| {
            chunk["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(streamed, "one two three");
    assert!(events.len() >= 5, "several chunks were streamed");

    let destroyed = app
        .vast(Method::DELETE, &format!("/api/v0/instances/{instance_id}/"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(destroyed.status(), 200);
    assert!(
        upstream_client()
            .get(format!("{base}/health"))
            .send()
            .await
            .is_err(),
        "the listener is closed"
    );
    assert!(app.vast_instance(instance_id).await.is_null());
    app.sim.shutdown().await;
}

#[tokio::test]
async fn a_rented_offer_leaves_the_market_and_a_second_create_is_410() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    let before = app.sim.offer_count(SimProvider::VastAi);

    app.vast_rent(offer_id).await;

    assert_eq!(app.sim.offer_count(SimProvider::VastAi), before - 1);
    let found = app.vast_search(json!({"id": {"eq": offer_id}})).await;
    assert!(found.is_empty());
    let again = app.vast_create(offer_id, json!({"image": "x"})).await;
    assert_eq!(again.status(), 410);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["error"], "no_such_ask");
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn destroying_an_instance_returns_its_offer_to_the_market() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    let instance_id = app.vast_rent(offer_id).await;
    assert_eq!(app.sim.instance_count(SimProvider::VastAi), 1);

    app.vast(Method::DELETE, &format!("/api/v0/instances/{instance_id}/"))
        .send()
        .await
        .unwrap();

    assert_eq!(app.sim.instance_count(SimProvider::VastAi), 0);
    assert_eq!(app.vast_search(json!({"id": {"eq": offer_id}})).await.len(), 1);
    let gone = app
        .vast(Method::DELETE, &format!("/api/v0/instances/{instance_id}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(gone.json::<Value>().await.unwrap()["error"], "not_found");
}

#[tokio::test]
async fn create_checks_the_image_and_the_offer() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    let no_image = app
        .vast_create(offer_id, json!({"client_id": "me", "disk": 10}))
        .await;
    assert_eq!(no_image.status(), 400);
    let body: Value = no_image.json().await.unwrap();
    assert_eq!(body["error"], "invalid_args");
    assert_eq!(body["ask_id"], offer_id);

    let unknown = app.vast_create(1, json!({"image": "x"})).await;
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"], "invalid_args");
    assert!(body["msg"].as_str().unwrap().contains("no_such_ask"));
}

#[tokio::test]
async fn requested_ports_and_8000_map_to_the_instance() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    let body = json!({"image": "x", "env": {"-p 9000:9000": "1", "HF_TOKEN": "t"}, "label": "job-1"});
    let created: Value = app.vast_create(offer_id, body).await.json().await.unwrap();
    let instance = app
        .wait_for_vast_running(created["new_contract"].as_u64().unwrap())
        .await;
    let ports = instance["ports"].as_object().unwrap();
    assert!(ports.contains_key("8000/tcp") && ports.contains_key("9000/tcp") && ports.contains_key("22/tcp"));
    assert_eq!(
        instance["extra_env"],
        json!([["-p 9000:9000", "1"], ["HF_TOKEN", "t"]])
    );
    assert_eq!(instance["label"], "job-1");
    let health = upstream_client()
        .get(format!("{}/health", inference_url(&instance)))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn stop_start_and_label_manage_an_instance() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    let instance_id = app.vast_rent(offer_id).await;
    let base = inference_url(&app.wait_for_vast_running(instance_id).await);
    let path = format!("/api/v0/instances/{instance_id}/");

    let stopped = app
        .vast(Method::PUT, &path)
        .json(&json!({"state": "stopped"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.json::<Value>().await.unwrap(), json!({"success": true}));
    let instance = app.vast_instance(instance_id).await;
    assert_eq!(
        (
            instance["actual_status"].as_str(),
            instance["intended_status"].as_str()
        ),
        (Some("stopped"), Some("stopped"))
    );
    let refused = upstream_client()
        .get(format!("{base}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503, "a stopped instance's machine answers 503");

    app.vast(Method::PUT, &path)
        .json(&json!({"state": "running"}))
        .send()
        .await
        .unwrap();
    app.wait_for_vast_running(instance_id).await;
    app.vast(Method::PUT, &path)
        .json(&json!({"label": "renamed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(app.vast_instance(instance_id).await["label"], "renamed");

    let bad = app
        .vast(Method::PUT, &path)
        .json(&json!({"state": "paused"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let missing = app
        .vast(Method::PUT, "/api/v0/instances/999/")
        .json(&json!({"state": "stopped"}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn the_list_shows_every_instance_and_unknown_ids_show_null() {
    let app = spawn_sim().await;
    let offers = app
        .vast_search(json!({"rentable": {"eq": true}, "limit": 2}))
        .await;
    for offer in &offers {
        app.vast_rent(offer["id"].as_u64().unwrap()).await;
    }
    let list: Value = app
        .vast(Method::GET, "/api/v0/instances/")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["instances_found"], 2);
    assert_eq!(list["instances"].as_array().unwrap().len(), 2);
    assert!(app.vast_instance(424_242).await.is_null());
}

#[tokio::test]
async fn a_stopped_target_state_creates_a_stopped_instance() {
    let app = spawn_sim().await;
    let offer_id = app.rentable_offer_id().await;
    let created: Value = app
        .vast_create(offer_id, json!({"image": "x", "target_state": "stopped"}))
        .await
        .json()
        .await
        .unwrap();
    let instance = app.vast_instance(created["new_contract"].as_u64().unwrap()).await;
    assert_eq!(instance["actual_status"], "stopped");
}
