use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::spawn_sim;

fn ids(offers: &[Value]) -> Vec<u64> {
    offers.iter().map(|offer| offer["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn numeric_strings_filter_like_numbers() {
    let app = spawn_sim().await;
    let as_numbers = app
        .vast_search(json!({"num_gpus": {"eq": 4}, "dph_total": {"lte": 3.5}, "limit": 500}))
        .await;
    let as_strings = app
        .vast_search(json!({"num_gpus": {"eq": "4"}, "dph_total": {"lte": "3.5"}, "limit": 500}))
        .await;
    assert!(!as_numbers.is_empty());
    assert_eq!(ids(&as_numbers), ids(&as_strings));
    assert!(
        as_numbers
            .iter()
            .all(|offer| offer["num_gpus"] == 4 && offer["dph_total"].as_f64().unwrap() <= 3.5)
    );
}

#[tokio::test]
async fn in_and_notin_select_and_exclude_models() {
    let app = spawn_sim().await;
    let wanted = ["RTX 4090", "H100 SXM"];
    let selected = app
        .vast_search(json!({"gpu_name": {"in": wanted}, "limit": 1000}))
        .await;
    let names: BTreeSet<&str> = selected
        .iter()
        .map(|offer| offer["gpu_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(wanted));
    let excluded = app
        .vast_search(json!({"gpu_name": {"notin": wanted}, "limit": 1000}))
        .await;
    assert!(
        excluded
            .iter()
            .all(|offer| !wanted.contains(&offer["gpu_name"].as_str().unwrap()))
    );
    assert_eq!(selected.len() + excluded.len(), 400);
}

#[tokio::test]
async fn several_operators_on_one_field_and_several_fields_all_apply() {
    let app = spawn_sim().await;
    let query = json!({
        "dph_total": {"gte": 0.2, "lt": 1.0},
        "reliability": {"gt": 0.95},
        "geolocation": {"in": ["US", "CA"]},
        "verified": {"eq": true},
        "rentable": {"eq": true},
        "external": {"eq": false},
        "num_gpus": {"neq": 8},
        "limit": 1000,
    });
    let offers = app.vast_search(query).await;
    assert!(!offers.is_empty());
    for offer in &offers {
        let dph = offer["dph_total"].as_f64().unwrap();
        assert!((0.2..1.0).contains(&dph));
        assert!(offer["reliability"].as_f64().unwrap() > 0.95);
        let location = offer["geolocation"].as_str().unwrap();
        assert!(
            location.ends_with(", US") || location.ends_with(", CA"),
            "{location}"
        );
        assert_eq!(offer["verification"], "verified");
        assert_eq!(offer["rentable"], true);
        assert_eq!(offer["external"], false);
        assert_ne!(offer["num_gpus"], 8);
    }
}

#[tokio::test]
async fn the_get_form_with_q_finds_what_the_post_form_finds() {
    let app = spawn_sim().await;
    let query = json!({"gpu_ram": {"gte": 40000}, "order": [["dph_total", "asc"]], "limit": 20});
    let posted = app.vast_search(query.clone()).await;
    let url =
        reqwest::Url::parse_with_params(&app.url("/api/v0/bundles/"), [("q", query.to_string())]).unwrap();
    let response = app
        .client
        .get(url)
        .bearer_auth(crate::helpers::VAST_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["offers"].as_array().unwrap(), &posted);
}

#[tokio::test]
async fn order_sorts_by_several_keys_and_limit_caps() {
    let app = spawn_sim().await;
    let offers = app
        .vast_search(json!({"order": [["num_gpus", "desc"], ["dph_total", "asc"]], "limit": 100}))
        .await;
    assert_eq!(offers.len(), 100);
    for pair in offers.windows(2) {
        let (left, right) = (&pair[0], &pair[1]);
        let (left_gpus, right_gpus) = (
            left["num_gpus"].as_u64().unwrap(),
            right["num_gpus"].as_u64().unwrap(),
        );
        assert!(left_gpus >= right_gpus);
        if left_gpus == right_gpus {
            assert!(left["dph_total"].as_f64().unwrap() <= right["dph_total"].as_f64().unwrap());
        }
    }
}

#[tokio::test]
async fn without_order_or_limit_the_top_64_by_score_come_back() {
    let app = spawn_sim().await;
    let offers = app.vast_search(json!({})).await;
    assert_eq!(offers.len(), 64);
    let scores: Vec<f64> = offers
        .iter()
        .map(|offer| offer["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|pair| pair[0] >= pair[1]));
}

#[tokio::test]
async fn dph_total_includes_the_allocated_storage() {
    let app = spawn_sim().await;
    let offers = app
        .vast_search(json!({"allocated_storage": 72.0, "limit": 5}))
        .await;
    for offer in offers {
        let storage = 72.0 * offer["storage_cost"].as_f64().unwrap() / 720.0;
        let expected = offer["dph_base"].as_f64().unwrap() + storage;
        assert!((offer["dph_total"].as_f64().unwrap() - expected).abs() < 1e-9);
        assert!((offer["storage_total_cost"].as_f64().unwrap() - storage).abs() < 1e-9);
    }
}

#[tokio::test]
async fn bid_searches_report_the_minimum_bid() {
    let app = spawn_sim().await;
    let offers = app
        .vast_search(json!({"type": "bid", "allocated_storage": 0, "limit": 5}))
        .await;
    for offer in offers {
        assert_eq!(offer["dph_total"], offer["min_bid"]);
        assert_eq!(offer["is_bid"], true);
    }
}

#[tokio::test]
async fn units_are_mb_for_memory() {
    let app = spawn_sim().await;
    let offers = app
        .vast_search(json!({"gpu_name": {"eq": "RTX 4090"}, "limit": 1}))
        .await;
    assert_eq!(offers[0]["gpu_ram"], 24564);
    let gpus = offers[0]["num_gpus"].as_u64().unwrap();
    assert_eq!(offers[0]["gpu_total_ram"].as_u64().unwrap(), 24564 * gpus);
}

#[tokio::test]
async fn a_malformed_body_is_answered_400_invalid_request() {
    let app = spawn_sim().await;
    let response = app
        .vast(Method::POST, "/api/v0/bundles/")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"error": "invalid_request", "msg": "Invalid json body"})
    );
    let bad_operator = app
        .vast(Method::POST, "/api/v0/bundles/")
        .json(&json!({"num_gpus": {"like": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_operator.status(), 400);
}

#[tokio::test]
async fn search_answers_with_exactly_application_json() {
    let app = spawn_sim().await;
    let response = app
        .vast(Method::POST, "/api/v0/bundles/")
        .json(&json!({"limit": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
}
