//! Billing through the gateway: the seed's payment call (a raw card refused, a PaymentMethod
//! charged once), Stripe webhooks through the public route, credits, admin credits, transactions
//! over REST and gRPC — against a local fake Stripe.

use std::time::Duration;

use gpuproxy_integration_tests::{Auth, HookReceiver, Mode, TestFleet, expect_status};
use gpuproxy_payment_sim::{FakeStripe, SendOptions};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use reqwest::{Method, StatusCode};
use serde_json::json;

const STRIPE_KEY: &str = "sk_test_fleet";
const WEBHOOK_SECRET: &str = "whsec_fleet";

async fn fleet_with_stripe(mode: Mode) -> (TestFleet, FakeStripe) {
    fleet_with_stripe_and(mode, &[]).await
}

async fn fleet_with_stripe_and(mode: Mode, extra: &[(&str, &str)]) -> (TestFleet, FakeStripe) {
    let stripe = FakeStripe::start(STRIPE_KEY, WEBHOOK_SECRET)
        .await
        .expect("fake stripe");
    let url = stripe.base_url();
    let mut settings = vec![
        ("STRIPE_SECRET_KEY", STRIPE_KEY),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_URL", url.as_str()),
        ("BOOTSTRAP_ADMIN_EMAIL", "root@example.com"),
        ("BOOTSTRAP_ADMIN_PASSWORD", "secure-password"),
    ];
    settings.extend_from_slice(extra);
    let fleet = TestFleet::start_with(mode, &settings).await;
    stripe.set_webhook_url(&format!(
        "{}/api/v1/billing/webhooks/stripe",
        fleet.gateways[0].http
    ));
    (fleet, stripe)
}

async fn pay(
    fleet: &TestFleet,
    key: &str,
    method: &str,
    idempotency_key: &str,
    amount: f64,
) -> reqwest::Response {
    fleet
        .rest
        .request(Method::POST, "/api/v1/billing/payment", Auth::Key(key))
        .header("X-Preferred-Payment", method)
        .header("X-Billing", "Stripe")
        .header("Idempotency-Key", idempotency_key)
        .json(&json!({"amount": amount, "currency": "USD", "provider": "stripe"}))
        .send()
        .await
        .expect("the gateway answers")
}

async fn credits(fleet: &TestFleet, key: &str) -> serde_json::Value {
    expect_status(
        fleet.rest.get("/api/v1/user/credits", Auth::Key(key)).await,
        StatusCode::OK,
    )
    .await
}

async fn payments_credit_once_and_webhooks_settle_the_rest(mode: Mode) {
    let (fleet, stripe) = fleet_with_stripe(mode).await;
    let (email, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;

    // The seed's example, card number and all: refused before anything reads or stores it.
    let refused = expect_status(
        pay(&fleet, &key, "card:4242424242424242:12/25:123", "seed", 50.0).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(refused["code"], "RAW_CARD_REJECTED");
    assert!(!refused.to_string().contains("4242"));
    assert_eq!(stripe.executed_count(), 0);

    for _ in 0..3 {
        let paid = expect_status(
            pay(&fleet, &key, "card:pm_card_visa", "topup-1", 50.0).await,
            StatusCode::OK,
        )
        .await;
        assert_eq!(paid["data"]["status"], "completed");
        assert_eq!(paid["data"]["amount"], 50.0);
    }
    assert_eq!(stripe.executed_count(), 1, "three calls with one key charge once");
    let balance = credits(&fleet, &key).await;
    assert_eq!(
        balance["credits_remaining"], 50.0,
        "the seed's client reads the top-level field"
    );
    assert_eq!(balance["data"]["credits_total"], 50.0);

    let declined = expect_status(
        pay(&fleet, &key, "card:pm_card_chargeDeclined", "topup-2", 10.0).await,
        StatusCode::PAYMENT_REQUIRED,
    )
    .await;
    assert_eq!(declined["code"], "PAYMENT_DECLINED");

    stripe.set_async(true);
    let pending = expect_status(
        pay(&fleet, &key, "card:pm_card_visa", "topup-3", 20.0).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(pending["data"]["status"], "pending");
    let intent = pending["data"]["provider_reference"].as_str().unwrap().to_owned();
    let forged = SendOptions {
        secret: Some("whsec_not_ours".to_owned()),
        ..SendOptions::default()
    };
    let (_, status) = stripe
        .send_event("payment_intent.succeeded", &intent, forged)
        .await
        .unwrap();
    assert_eq!(status, 400, "a forged webhook is refused");
    assert_eq!(credits(&fleet, &key).await["credits_remaining"], 50.0);
    let (event_id, status) = stripe.complete(&intent, true).await.unwrap();
    assert_eq!(status, 200);
    let replay = SendOptions {
        event_id: Some(event_id),
        ..SendOptions::default()
    };
    let (_, status) = stripe
        .send_event("payment_intent.succeeded", &intent, replay)
        .await
        .unwrap();
    assert_eq!(status, 200, "a replay is acknowledged and changes nothing");
    assert_eq!(credits(&fleet, &key).await["credits_remaining"], 70.0);

    let history = expect_status(
        fleet
            .rest
            .get("/api/v1/billing/transactions", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(history["count"], 3);
    let statuses: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["status"].as_str())
        .collect();
    assert_eq!(statuses, ["completed", "failed", "completed"], "newest first");

    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    let mut request = tonic::Request::new(public::GetTransactionsRequest { limit: 10, offset: 0 });
    request.metadata_mut().insert("x-api-key", key.parse().unwrap());
    let listed = client.get_transactions(request).await.unwrap().into_inner();
    assert_eq!(listed.total_count, 3);
    assert_eq!(listed.transactions[0].amount, 20.0);
    let mut request = tonic::Request::new(public::CreatePaymentRequest {
        amount: 50.0,
        currency: "USD".to_owned(),
        provider: "stripe".to_owned(),
        payment_method: "card:4242424242424242:12/25:123".to_owned(),
    });
    request.metadata_mut().insert("x-api-key", key.parse().unwrap());
    let refused = client.create_payment(request).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(!refused.message().contains("4242"));

    // Admin credits: by email, idempotent, admins only.
    let admin = fleet.rest.login_as("root@example.com", "secure-password").await;
    for _ in 0..2 {
        let added = fleet
            .rest
            .request(Method::POST, "/api/v1/admin/credits/add", Auth::Bearer(&admin))
            .header("Idempotency-Key", "grant-1")
            .json(&json!({"email": email, "amount": 10.0}))
            .send()
            .await
            .unwrap();
        expect_status(added, StatusCode::OK).await;
    }
    let balance = credits(&fleet, &key).await;
    assert_eq!(
        (
            balance["credits_remaining"].as_f64(),
            balance["credits_total"].as_f64()
        ),
        (Some(80.0), Some(80.0))
    );
    let forbidden = fleet
        .rest
        .post(
            "/api/v1/admin/credits/add",
            Auth::Key(&key),
            &json!({"email": email, "amount": 10.0}),
        )
        .await;
    assert_eq!(
        expect_status(forbidden, StatusCode::FORBIDDEN).await["code"],
        "FORBIDDEN"
    );
    let entries = expect_status(
        fleet
            .rest
            .get("/api/v1/user/credits/history", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(entries["count"], 3, "two payments and one admin credit");
}

async fn bad_payment_input_gets_codes(mode: Mode) {
    let (fleet, stripe) = fleet_with_stripe(mode).await;
    let (_, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    for (body, code) in [
        (
            json!({"amount": -5.0, "provider": "stripe", "payment_method": "card:pm_card_visa"}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"amount": 5.0, "provider": "paypal", "payment_method": "card:pm_card_visa"}),
            "VALIDATION_FAILED",
        ),
        (
            json!({"amount": 5.0, "provider": "stripe", "payment_method": "card:4000 0566 5566 5556"}),
            "RAW_CARD_REJECTED",
        ),
        (
            json!({"amount": 5.0, "provider": "crypto", "payment_method": "crypto:eth:0xabc"}),
            "SERVICE_UNAVAILABLE",
        ),
    ] {
        let response = fleet
            .rest
            .post("/api/v1/billing/payment", Auth::Key(&key), &body)
            .await;
        let status = response.status();
        let json = expect_status(response, status).await;
        assert_eq!(json["code"], code, "{body}: {json}");
        assert!(
            status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }
    let unsigned = fleet
        .rest
        .request(Method::POST, "/api/v1/billing/webhooks/stripe", Auth::None)
        .json(&json!({"id": "evt_1", "type": "payment_intent.succeeded"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        expect_status(unsigned, StatusCode::BAD_REQUEST).await["code"],
        "INVALID_SIGNATURE"
    );
    assert_eq!(stripe.executed_count(), 0);
}

/// Seed 002's billing webhook, as written, receives the renewal that turning auto-renewal on below
/// the low-credit threshold charges at once.
async fn auto_renewal_charges_the_saved_card_and_tells_the_billing_webhook(mode: Mode) {
    let (fleet, stripe) = fleet_with_stripe_and(mode, &[("CREDITS_LOW_THRESHOLD", "50")]).await;
    let (_, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    let hook = HookReceiver::start().await;
    let subscribed = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/webhooks/billing",
                Auth::Key(&key),
                &json!({
                    "url": hook.url,
                    "events": ["payment.success", "payment.failed", "subscription.renewed"]
                }),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        subscribed["data"]["events"],
        json!(["payment.completed", "payment.failed", "subscription.renewed"])
    );
    expect_status(
        pay(&fleet, &key, "card:pm_card_visa", "first", 10.0).await,
        StatusCode::OK,
    )
    .await;
    hook.wait_for(1, Duration::from_secs(10)).await;

    let renew = |body: serde_json::Value| {
        let fleet = &fleet;
        let key = key.clone();
        async move {
            fleet
                .rest
                .request(Method::PUT, "/api/v1/user/credits/auto-renew", Auth::Key(&key))
                .json(&body)
                .send()
                .await
                .expect("the gateway answers")
        }
    };
    for (body, field) in [
        (json!({"enabled": true}), "auto_renew_amount"),
        (json!({"enabled": true, "amount": 0.2}), "auto_renew_amount"),
        (json!({"enabled": true, "amount": -3}), "amount"),
    ] {
        let refused = expect_status(renew(body.clone()).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(refused["code"], "VALIDATION_FAILED", "{body}");
        assert_eq!(refused["field"], field, "{body}: {refused}");
    }
    let refused = expect_status(
        fleet
            .rest
            .request(Method::PUT, "/api/v1/user/credits/auto-renew", Auth::None)
            .json(&json!({"enabled": true, "amount": 20}))
            .send()
            .await
            .expect("the gateway answers"),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(refused["code"], "UNAUTHENTICATED");
    assert_eq!(stripe.executed_count(), 1, "nothing charged by refused requests");

    let on = expect_status(
        renew(json!({"enabled": true, "amount": 20})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(on["data"]["credits_auto_renew"], true);
    assert_eq!(on["data"]["auto_renew_amount"], 20.0);
    // The payment and then the renewal: payment.completed and subscription.renewed.
    let received = hook.wait_for(3, Duration::from_secs(10)).await;
    let renewed = received
        .iter()
        .map(|request| request.json())
        .find(|body| body["event"] == "subscription.renewed")
        .expect("subscription.renewed delivered");
    assert_eq!(renewed["data"]["amount_micros"], 20_000_000);
    assert_eq!(renewed["data"]["balance_micros"], 30_000_000);
    assert_eq!(credits(&fleet, &key).await["data"]["balance"], 30.0);
    assert_eq!(stripe.executed_count(), 2);
    let off = expect_status(renew(json!({"enabled": false})).await, StatusCode::OK).await;
    assert_eq!(off["data"]["credits_auto_renew"], false);
}

crate::in_both_modes!(
    payments_credit_once_and_webhooks_settle_the_rest,
    bad_payment_input_gets_codes,
    auto_renewal_charges_the_saved_card_and_tells_the_billing_webhook
);
