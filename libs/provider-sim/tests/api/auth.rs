use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{CAAS, VAST_KEY, spawn_sim};

#[tokio::test]
async fn vast_answers_401_without_or_with_a_wrong_key() {
    let app = spawn_sim().await;
    let missing = app
        .client
        .post(app.url("/api/v0/bundles/"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"success": false, "error": "auth_error", "msg": "Invalid user key"})
    );
    let wrong = app
        .client
        .get(app.url("/api/v0/instances/"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[tokio::test]
async fn vast_accepts_the_legacy_api_key_query_parameter() {
    let app = spawn_sim().await;
    let response = app
        .client
        .get(app.url(&format!("/api/v0/instances/?api_key={VAST_KEY}&owner=me")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"instances_found": 0, "instances": []})
    );
}

#[tokio::test]
async fn ionet_answers_401_without_or_with_a_wrong_key() {
    let app = spawn_sim().await;
    let url = app.url(&format!("{CAAS}/hardware/max-gpus-per-container"));
    let missing = app.client.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"detail": "Invalid API key"})
    );
    let wrong = app
        .client
        .get(&url)
        .header("X-API-KEY", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bearer = app
        .client
        .get(&url)
        .bearer_auth("sim-ionet-key")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 401, "io.net reads only x-api-key");
}

#[tokio::test]
async fn each_provider_key_works_only_for_its_provider() {
    let app = spawn_sim().await;
    let vast_key_on_ionet = app
        .client
        .get(app.url(&format!("{CAAS}/deployments")))
        .header("x-api-key", VAST_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(vast_key_on_ionet.status(), 401);
    let ok = app.ionet(Method::GET, "/deployments").send().await.unwrap();
    assert_eq!(ok.status(), 200);
}
