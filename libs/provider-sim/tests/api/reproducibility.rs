use gpuproxy_provider_sim::SimConfig;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{CAAS, IONET_KEY, quick_config, spawn_sim_with};

async fn search_bytes(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let app = spawn_sim_with(SimConfig {
        seed,
        ..quick_config()
    })
    .await;
    let query = json!({"gpu_ram": {"gte": 24000}, "order": [["dph_total", "asc"]], "limit": 200});
    let offers = app
        .vast(Method::POST, "/api/v0/bundles/")
        .json(&query)
        .send()
        .await
        .unwrap();
    let offers = offers.bytes().await.unwrap().to_vec();
    let url = app.url(&format!(
        "{CAAS}/available-replicas?hardware_id=102&hardware_qty=1"
    ));
    let replicas = app
        .client
        .get(url)
        .header("x-api-key", IONET_KEY)
        .send()
        .await
        .unwrap();
    let replicas = replicas.bytes().await.unwrap().to_vec();
    app.sim.shutdown().await;
    (offers, replicas)
}

#[tokio::test]
async fn the_same_seed_gives_byte_identical_search_results() {
    let first = search_bytes(7).await;
    let second = search_bytes(7).await;
    assert_eq!(first, second);
    assert!(first.0.len() > 1000, "the search found offers");
}

#[tokio::test]
async fn different_seeds_give_different_markets() {
    assert_ne!(search_bytes(7).await.0, search_bytes(8).await.0);
}

#[tokio::test]
async fn the_market_has_the_configured_size() {
    let app = spawn_sim_with(SimConfig {
        vastai_offers: 50,
        ionet_devices: 30,
        ..quick_config()
    })
    .await;
    let everything = app.vast_search(json!({"limit": 1000})).await;
    assert_eq!(everything.len(), 50);
    assert_eq!(app.sim.offer_count(gpuproxy_provider_sim::SimProvider::IoNet), 30);
    app.sim.shutdown().await;
}
