use gpuproxy_provider_sim::SimProvider;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::spawn_sim;

#[tokio::test]
async fn hardware_lists_every_model_with_free_devices() {
    let app = spawn_sim().await;
    let body = app.ionet_get("/hardware/max-gpus-per-container").await;
    let hardware = body["data"]["hardware"].as_array().unwrap();
    assert_eq!(body["data"]["total"], 9);
    let ids: Vec<u64> = hardware
        .iter()
        .map(|entry| entry["hardware_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![101, 102, 103, 104, 201, 202, 203, 204, 205]);
    assert!(
        hardware
            .iter()
            .all(|entry| entry["brand_name"] == "NVIDIA" && entry["max_gpus_per_container"] == 8)
    );
    let available: u64 = hardware
        .iter()
        .map(|entry| entry["available"].as_u64().unwrap())
        .sum();
    assert_eq!(available as usize, app.sim.offer_count(SimProvider::IoNet));
}

#[tokio::test]
async fn available_replicas_counts_fitting_devices_per_location() {
    let app = spawn_sim().await;
    let one = app
        .ionet_get("/available-replicas?hardware_id=102&hardware_qty=1")
        .await;
    let eight = app
        .ionet_get("/available-replicas?hardware_id=102&hardware_qty=8")
        .await;
    let total = |body: &Value| -> u64 {
        body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["available_replicas"].as_u64().unwrap())
            .sum()
    };
    assert!(total(&one) > total(&eight), "fewer devices fit 8 GPUs than 1");
    for location in one["data"].as_array().unwrap() {
        assert!(
            location["available_replicas"].as_u64().unwrap() > 0,
            "empty locations are left out"
        );
        assert!(location["iso2"].as_str().unwrap().len() == 2 && location["name"].is_string());
    }
    let invalid = app
        .ionet(Method::GET, "/available-replicas?hardware_id=102")
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), 422);
}

#[tokio::test]
async fn price_is_the_hourly_rate_times_gpus_hours_and_replicas_plus_two_percent() {
    let app = spawn_sim().await;
    let quote = |gpus: u32, hours: u32, replicas: u32| {
        let path = format!(
            "/price?location_ids=%5B9%5D&hardware_id=203&duration_hours={hours}&gpus_per_container={gpus}&replica_count={replicas}"
        );
        let app = &app;
        async move { app.ionet_get(&path).await["data"].clone() }
    };
    let unit = quote(1, 1, 1).await;
    let bigger = quote(8, 3, 2).await;
    let unit_total = unit["total_cost_usdc"].as_f64().unwrap();
    assert!((bigger["total_cost_usdc"].as_f64().unwrap() - unit_total * 48.0).abs() < 1e-6);
    let rate = unit_total / 1.02;
    assert!((1.80..=3.50).contains(&rate), "an H100 costs {rate} per GPU hour");
    assert!((unit["ionet_fee"].as_f64().unwrap() - rate * 0.02).abs() < 1e-6);
    assert_eq!(unit["ionet_fee_percent"], 2.0);
    assert_eq!(bigger["gpus_per_container"], 8);
    assert_eq!(bigger["replica_count"], 2);
    assert_eq!(bigger["available_replica_count"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn price_reports_every_missing_or_invalid_parameter() {
    let app = spawn_sim().await;
    let response = app
        .ionet(Method::GET, "/price?hardware_id=abc&duration_hours=0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    let problems: Vec<(String, String)> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| {
            (
                issue["loc"][1].as_str().unwrap().to_owned(),
                issue["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        problems,
        vec![
            ("location_ids".to_owned(), "missing".to_owned()),
            ("hardware_id".to_owned(), "int_parsing".to_owned()),
            ("duration_hours".to_owned(), "greater_than_equal".to_owned()),
            ("gpus_per_container".to_owned(), "missing".to_owned()),
            ("replica_count".to_owned(), "missing".to_owned()),
        ]
    );
    assert!(body["detail"][0]["msg"].is_string());
}
