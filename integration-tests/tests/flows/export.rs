//! Data export: the caller's account as one streamed JSON document, and every user for admins.

use gpuproxy_integration_tests::{Auth, HookReceiver, Mode, TestFleet, expect_status};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::in_both_modes;
use crate::rentals::{destroy_all, reserve, running};

in_both_modes!(an_account_exports_everything_it_holds_streamed_and_without_secrets);

async fn an_account_exports_everything_it_holds_streamed_and_without_secrets(mode: Mode) {
    let fleet = TestFleet::start_with(
        mode,
        &[
            ("BOOTSTRAP_ADMIN_EMAIL", "root@example.com"),
            ("BOOTSTRAP_ADMIN_PASSWORD", "secure-password"),
            ("METERING_INTERVAL", "200ms"),
            ("RATE_LIMIT_PER_MINUTE", "100000"),
        ],
    )
    .await;
    let admin = fleet.rest.login_as("root@example.com", "secure-password").await;
    let (email, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    fleet.rest.create_key(&token).await;
    // More credit entries than one page of the export holds.
    let entries = 520;
    for batch in 0..entries / 40 {
        let credits = (0..40).map(|number| {
            fleet
                .rest
                .request(Method::POST, "/api/v1/admin/credits/add", Auth::Bearer(&admin))
                .header("idempotency-key", format!("export-{batch}-{number}"))
                .json(&json!({"email": email, "amount": 1.0}))
                .send()
        });
        for answer in futures::future::join_all(credits).await {
            expect_status(answer.expect("answered"), StatusCode::OK).await;
        }
    }
    let hook = HookReceiver::start().await;
    fleet
        .rest
        .subscribe_webhook(&key, &hook.url, &["instance.*"])
        .await;
    reserve(&fleet, &key, 1, "").await;
    running(&fleet, &key, 1).await;
    destroy_all(&fleet, &key).await;
    // An ended instance's last minute is billed at the next metering.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let usage = expect_status(
            fleet.rest.get("/api/v1/user/usage", Auth::Key(&key)).await,
            StatusCode::OK,
        )
        .await;
        if usage["data"]["total_count"].as_i64().unwrap_or(0) > 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metered within 10 s: {usage}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let response = fleet.rest.get("/api/v1/user/export", Auth::Key(&key)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers().get("content-length").is_none(),
        "streamed, not buffered"
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.expect("a body");
    assert!(!text.contains(&key), "no API key secret in the export");
    let export: Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(export["user"]["email"], email);
    assert_eq!(export["api_keys"].as_array().map(Vec::len), Some(2));
    assert!(export["api_keys"][0]["prefix"].is_string());
    assert_eq!(export["credits"]["credits_total"], f64::from(entries));
    assert!(export["quotas"]["guardrails"].is_object());
    let credited = export["credit_history"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["kind"] == "admin_credit")
        .count();
    assert_eq!(credited, entries as usize, "every admin credit, across pages");
    assert_eq!(export["gpu_instances"].as_array().map(Vec::len), Some(1));
    assert!(
        !export["gpu_usage"].as_array().expect("usage").is_empty(),
        "metered run time"
    );
    assert!(export["transactions"].is_array());
    assert_eq!(export["webhooks"][0]["url"], hook.url.as_str());
    assert!(export["webhooks"][0].get("secret").is_none());
    let ids: std::collections::HashSet<&str> = export["credit_history"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| entry["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(
        ids.len(),
        export["credit_history"].as_array().map(Vec::len).unwrap_or(0),
        "no entry twice across pages"
    );

    expect_status(
        fleet
            .rest
            .get("/api/v1/admin/export/users", Auth::Key(&key))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    let users: Value = serde_json::from_str(
        &fleet
            .rest
            .get("/api/v1/admin/export/users", Auth::Bearer(&admin))
            .await
            .text()
            .await
            .expect("a body"),
    )
    .expect("one JSON document");
    let listed = users["users"].as_array().expect("users");
    assert_eq!(users["count"].as_u64(), Some(listed.len() as u64));
    let exported = listed
        .iter()
        .find(|user| user["user"]["email"] == email.as_str())
        .expect("the user");
    assert_eq!(exported["api_keys"].as_array().map(Vec::len), Some(2));
    assert_eq!(exported["credits"]["credits_total"], f64::from(entries));
    expect_status(
        fleet.rest.get("/api/v1/user/export", Auth::None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}
