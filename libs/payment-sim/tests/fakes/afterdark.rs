//! `FakeAfterDark` against the contract in the crate docs.

use gpuproxy_payment_sim::FakeAfterDark;
use reqwest::Response;
use serde_json::{Value, json};

const API_KEY: &str = "ad_test_key";

async fn start() -> FakeAfterDark {
    FakeAfterDark::start(API_KEY).await.unwrap()
}

async fn charge(after_dark: &FakeAfterDark, body: &str, key: Option<&str>) -> Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/charges", after_dark.base_url()))
        .bearer_auth(API_KEY)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.send().await.unwrap()
}

const TOPUP: &str = r#"{"amount": 1250, "currency": "usd", "customer": "user-42",
    "reference": "topup-7", "description": "GPU credits"}"#;

fn replayed(response: &Response) -> bool {
    response
        .headers()
        .get("idempotent-replayed")
        .is_some_and(|value| value == "true")
}

#[tokio::test]
async fn a_charge_is_created_once_per_key_and_replayed_on_retry() {
    let after_dark = start().await;

    let first = charge(&after_dark, TOPUP, Some("k1")).await;
    assert_eq!(first.status(), 201);
    assert!(!replayed(&first));
    let first: Value = first.json().await.unwrap();
    assert!(first["id"].as_str().unwrap().starts_with("adch_"));
    assert_eq!(first["object"], "charge");
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["amount"], 1250);
    assert_eq!(first["reference"], "topup-7");
    assert!(first["failure_code"].is_null());

    // The same JSON with other spacing and key order is the same request.
    let reordered = r#"{"reference":"topup-7","customer":"user-42","currency":"usd","amount":1250,"description":"GPU credits"}"#;
    let retry = charge(&after_dark, reordered, Some("k1")).await;

    assert_eq!(retry.status(), 201);
    assert!(replayed(&retry));
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(after_dark.executed_count(), 1);
    assert_eq!(after_dark.charges(), vec![first]);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_a_409_conflict() {
    let after_dark = start().await;
    charge(&after_dark, TOPUP, Some("k2")).await;

    let other = charge(&after_dark, &TOPUP.replace("1250", "9999"), Some("k2")).await;

    assert_eq!(other.status(), 409);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["error"]["code"], "idempotency_conflict");
    assert_eq!(after_dark.executed_count(), 1);
}

#[tokio::test]
async fn auth_a_missing_key_and_invalid_bodies_are_refused_without_charging() {
    let after_dark = start().await;
    let url = format!("{}/v1/charges", after_dark.base_url());

    let anonymous = reqwest::Client::new()
        .post(&url)
        .header("idempotency-key", "k3")
        .body(TOPUP)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.json::<Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );

    let no_key = charge(&after_dark, TOPUP, None).await;
    assert_eq!(no_key.status(), 400);
    assert_eq!(
        no_key.json::<Value>().await.unwrap()["error"]["code"],
        "idempotency_key_missing"
    );

    for invalid in [
        r#"{"amount": 12.5, "currency": "usd", "customer": "u", "reference": "r"}"#,
        r#"{"amount": 100, "currency": "USD", "customer": "u", "reference": "r"}"#,
        r#"{"amount": 100, "currency": "usd", "reference": "r"}"#,
        r#"{"amount": 100, "currency": "usd", "customer": "u", "reference": "r", "card": "4242"}"#,
        "not json",
    ] {
        let refused = charge(&after_dark, invalid, Some("k3")).await;
        assert_eq!(refused.status(), 400, "{invalid}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_request", "{invalid}");
        assert!(body["error"]["message"].is_string());
    }
    // Refusals stored nothing, so the key still works for a valid body.
    assert_eq!(charge(&after_dark, TOPUP, Some("k3")).await.status(), 201);
    assert_eq!(after_dark.executed_count(), 1);
}

#[tokio::test]
async fn declined_charges_are_created_failed_with_card_declined() {
    let after_dark = start().await;
    after_dark.set_decline(true);

    let declined = charge(&after_dark, TOPUP, Some("k4")).await;

    assert_eq!(declined.status(), 201);
    let body: Value = declined.json().await.unwrap();
    assert_eq!(body["status"], "failed");
    assert_eq!(body["failure_code"], "card_declined");
    assert!(body["failure_message"].is_string());
    after_dark.set_decline(false);
    let later: Value = charge(&after_dark, TOPUP, Some("k5")).await.json().await.unwrap();
    assert_eq!(later["status"], "succeeded");
}

#[tokio::test]
async fn injected_failures_store_nothing_so_the_retry_executes() {
    let after_dark = start().await;
    after_dark.fail_next(503, 1);

    let failed = charge(&after_dark, TOPUP, Some("k6")).await;
    assert_eq!(failed.status(), 503);
    assert_eq!(
        failed.json::<Value>().await.unwrap()["error"]["code"],
        "internal_error"
    );
    assert_eq!(after_dark.executed_count(), 0);

    let retry = charge(&after_dark, TOPUP, Some("k6")).await;
    assert_eq!(retry.status(), 201);
    assert!(!replayed(&retry));
    assert_eq!(after_dark.executed_count(), 1);
}

#[tokio::test]
async fn get_answers_the_charge_or_404() {
    let after_dark = start().await;
    let created: Value = charge(&after_dark, TOPUP, Some("k7")).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let client = reqwest::Client::new();

    let fetched = client
        .get(format!("{}/v1/charges/{id}", after_dark.base_url()))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.json::<Value>().await.unwrap(), created);
    assert_eq!(after_dark.charge(id), Some(created));

    let missing = client
        .get(format!("{}/v1/charges/adch_missing", after_dark.base_url()))
        .bearer_auth(API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap(),
        json!({"error": {"code": "not_found", "message": "no such charge: adch_missing"}})
    );
}
