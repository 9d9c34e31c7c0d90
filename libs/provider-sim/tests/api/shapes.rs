//! The simulator's answers have the shapes of the spec examples.

use gpuproxy_provider_sim::{fixture, shape_mismatches};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{TestSim, spawn_sim};

async fn assert_shape(name: &str, response: Response) {
    let actual: Value = response.json().await.unwrap();
    let expected = fixture(name).unwrap_or_else(|| panic!("no fixture {name}"));
    let mismatches = shape_mismatches(&expected, &actual);
    assert!(
        mismatches.is_empty(),
        "{name}: {mismatches:#?}\nactual: {actual:#}"
    );
}

async fn vast(app: &TestSim, method: Method, path: &str, body: Value) -> Response {
    app.vast(method, path).json(&body).send().await.unwrap()
}

#[tokio::test]
async fn vast_answers_match_the_spec_examples() {
    let app = spawn_sim().await;
    let search_body = fixture("vastai/search_request").unwrap();
    assert_shape(
        "vastai/offers",
        vast(&app, Method::POST, "/api/v0/bundles/", search_body).await,
    )
    .await;
    assert_shape(
        "vastai/offers",
        vast(&app, Method::POST, "/api/v0/bundles/", json!({"limit": 3})).await,
    )
    .await;

    let offer_id = app.rentable_offer_id().await;
    let create_body = fixture("vastai/create_request").unwrap();
    let created = vast(
        &app,
        Method::PUT,
        &format!("/api/v0/asks/{offer_id}/"),
        create_body.clone(),
    )
    .await;
    let created: Value = created.json().await.unwrap();
    assert!(shape_mismatches(&fixture("vastai/create_response").unwrap(), &created).is_empty());
    let instance_id = created["new_contract"].as_u64().unwrap();
    app.wait_for_vast_running(instance_id).await;
    let path = format!("/api/v0/instances/{instance_id}/");
    assert_shape(
        "vastai/instance_show",
        vast(&app, Method::GET, &path, json!({})).await,
    )
    .await;
    assert_shape(
        "vastai/instances_list",
        vast(&app, Method::GET, "/api/v0/instances/", json!({})).await,
    )
    .await;
    assert_shape(
        "vastai/manage_response",
        vast(&app, Method::PUT, &path, json!({"label": "x"})).await,
    )
    .await;

    let again = vast(
        &app,
        Method::PUT,
        &format!("/api/v0/asks/{offer_id}/"),
        create_body,
    )
    .await;
    assert_shape("vastai/error_no_longer_available", again).await;
    assert_shape(
        "vastai/error_no_such_ask",
        vast(&app, Method::PUT, "/api/v0/asks/1/", json!({"image": "x"})).await,
    )
    .await;
    assert_shape(
        "vastai/error_invalid_args",
        vast(&app, Method::PUT, "/api/v0/asks/1/", json!({})).await,
    )
    .await;
    assert_shape(
        "vastai/error_no_such_instance",
        vast(&app, Method::PUT, "/api/v0/instances/1/", json!({"label": "x"})).await,
    )
    .await;
    assert_shape(
        "vastai/destroy_response",
        vast(&app, Method::DELETE, &path, json!({})).await,
    )
    .await;
    assert_shape(
        "vastai/error_instance_not_found",
        vast(&app, Method::DELETE, &path, json!({})).await,
    )
    .await;
    let unauthorized = app
        .client
        .get(app.url("/api/v0/instances/"))
        .send()
        .await
        .unwrap();
    assert_shape("vastai/error_auth", unauthorized).await;
    let malformed = app
        .vast(Method::POST, "/api/v0/bundles/")
        .body("[")
        .send()
        .await
        .unwrap();
    assert_shape("vastai/error_invalid_body", malformed).await;
}

#[tokio::test]
async fn ionet_answers_match_the_spec_examples() {
    let app = spawn_sim().await;
    assert_shape(
        "ionet/hardware",
        app.ionet(Method::GET, "/hardware/max-gpus-per-container")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let (hardware_id, location_id) = app.ionet_capacity(1).await;
    let replicas = app
        .ionet(
            Method::GET,
            &format!("/available-replicas?hardware_id={hardware_id}&hardware_qty=1"),
        )
        .send()
        .await
        .unwrap();
    assert_shape("ionet/available_replicas", replicas).await;
    let price_path = format!(
        "/price?location_ids=[{location_id}]&hardware_id={hardware_id}&duration_hours=1&gpus_per_container=1&replica_count=1"
    );
    assert_shape(
        "ionet/price",
        app.ionet(Method::GET, &price_path).send().await.unwrap(),
    )
    .await;

    let mut deploy = fixture("ionet/deploy_request").unwrap();
    deploy["hardware_id"] = json!(hardware_id);
    deploy["location_ids"] = json!([location_id]);
    let deployed: Value = app
        .ionet(Method::POST, "/deploy")
        .json(&deploy)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        shape_mismatches(&fixture("ionet/deploy_response").unwrap(), &deployed).is_empty(),
        "{deployed}"
    );
    let id = deployed["deployment_id"].as_str().unwrap().to_owned();
    app.wait_for_public_url(&id).await;
    assert_shape(
        "ionet/deployment",
        app.ionet(Method::GET, &format!("/deployment/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_shape(
        "ionet/deployments",
        app.ionet(Method::GET, "/deployments").send().await.unwrap(),
    )
    .await;
    assert_shape(
        "ionet/containers",
        app.ionet(Method::GET, &format!("/deployment/{id}/containers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let invalid = app
        .ionet(Method::POST, "/deploy")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
    assert_shape("ionet/validation_error", invalid).await;
    assert_shape(
        "ionet/destroy_response",
        app.ionet(Method::DELETE, &format!("/deployment/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
}
