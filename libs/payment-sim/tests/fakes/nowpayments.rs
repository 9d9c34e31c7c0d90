//! `FakeNowPayments` against spec B2–B5.

use gpuproxy_payment_sim::FakeNowPayments;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha512;

use crate::receiver::{Delivery, Receiver};

const API_KEY: &str = "NP-TEST-KEY";
const IPN_SECRET: &str = "ipn_test_secret";

async fn start() -> FakeNowPayments {
    FakeNowPayments::start(API_KEY, IPN_SECRET).await.unwrap()
}

async fn post(now: &FakeNowPayments, path: &str, body: &Value, key: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", now.base_url()))
        .header("x-api-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn topup(ipn_callback_url: &str) -> Value {
    json!({
        "price_amount": 20.0, "price_currency": "usd", "pay_currency": "btc",
        "order_id": "topup-42", "order_description": "GPU credits",
        "ipn_callback_url": ipn_callback_url,
    })
}

/// Verifies an IPN independently of the fake: the body is already key-sorted compact JSON, so
/// HMAC-SHA512 over the raw bytes must equal the header.
fn verifies(delivery: &Delivery, secret: &str) -> bool {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&delivery.body);
    hex::decode(delivery.header("x-nowpayments-sig")).is_ok_and(|sig| mac.verify_slice(&sig).is_ok())
}

#[tokio::test]
async fn status_answers_ok_without_a_key() {
    let now = start().await;
    let response = reqwest::get(format!("{}/status", now.base_url())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"message": "OK"}));
}

#[tokio::test]
async fn a_new_payment_is_waiting_with_string_ids_and_get_answers_numeric_ids() {
    let now = start().await;

    let (status, created) = post(&now, "/payment", &topup("http://127.0.0.1:9/ipn"), API_KEY).await;

    assert_eq!(status, 201);
    assert_eq!(created["payment_status"], "waiting");
    assert_eq!(created["pay_currency"], "btc");
    assert_eq!(created["network"], "btc");
    assert_eq!(created["price_amount"], 20.0);
    assert_eq!(
        created["pay_amount"], 0.00033333,
        "20 usd at the fixed 60 000 usd/btc"
    );
    assert_eq!(created["order_id"], "topup-42");
    assert!(created["pay_address"].as_str().unwrap().starts_with("bc1q"));
    let id = created["payment_id"]
        .as_str()
        .expect("a string in the create answer");
    assert!(created["purchase_id"].is_string());
    assert_eq!(now.executed_count(), 1);

    let fetched = reqwest::Client::new()
        .get(format!("{}/payment/{id}", now.base_url()))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), 200);
    let fetched: Value = fetched.json().await.unwrap();
    assert_eq!(
        fetched["payment_id"].as_u64().unwrap().to_string(),
        id,
        "a number here"
    );
    assert_eq!(fetched["payment_status"], "waiting");
    assert_eq!(fetched["actually_paid"], 0.0);
    assert_eq!(fetched["pay_address"], created["pay_address"]);
    assert_eq!(now.payment(id), Some(fetched));
    assert_eq!(now.payments().len(), 1);
}

#[tokio::test]
async fn bad_keys_currencies_amounts_and_ids_get_their_error_codes() {
    let now = start().await;
    let valid = topup("http://127.0.0.1:9/ipn");

    let (status, body) = post(&now, "/payment", &valid, "wrong-key").await;
    assert_eq!((status, body["code"].as_str()), (403, Some("INVALID_API_KEY")));

    let mut doge = valid.clone();
    doge["pay_currency"] = json!("doge");
    let (status, body) = post(&now, "/payment", &doge, API_KEY).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("CURRENCY_UNAVAILABLE"))
    );

    let mut tiny = valid.clone();
    tiny["price_amount"] = json!(0.5);
    let (status, body) = post(&now, "/payment", &tiny, API_KEY).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("AMOUNT_MINIMAL_ERROR"))
    );

    let mut negative = valid.clone();
    negative["price_amount"] = json!(-20);
    let (status, _) = post(&now, "/payment", &negative, API_KEY).await;
    assert_eq!(status, 400);
    assert_eq!(now.executed_count(), 0);

    let missing = reqwest::Client::new()
        .get(format!("{}/payment/1234567890", now.base_url()))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn advance_posts_a_verifiable_ipn_at_every_step_to_finished() {
    let now = start().await;
    let receiver = Receiver::start().await;
    let (_, created) = post(&now, "/payment", &topup(&receiver.url), API_KEY).await;
    let id = created["payment_id"].as_str().unwrap();
    let steps = ["confirming", "confirmed", "sending", "finished"];

    for step in steps {
        assert_eq!(now.advance(id, step).await.unwrap(), 200, "{step}");
    }

    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), steps.len());
    for (delivery, step) in deliveries.iter().zip(steps) {
        assert!(verifies(delivery, IPN_SECRET), "{step}");
        let ipn = delivery.json();
        assert_eq!(ipn["payment_status"], step);
        assert_eq!(ipn["payment_id"].as_u64().unwrap().to_string(), id);
        assert_eq!(ipn["order_id"], "topup-42");
        assert_eq!(ipn["actually_paid"], created["pay_amount"]);
        assert!(ipn["fee"]["currency"].is_string());
        assert!(ipn["updated_at"].is_i64(), "epoch milliseconds in IPNs");
    }
    let finished = now.payment(id).unwrap();
    assert_eq!(finished["payment_status"], "finished");
    assert!(finished["payout_hash"].is_string());
    assert_eq!(deliveries[3].json()["actually_paid_at_fiat"], 20.0);
}

#[tokio::test]
async fn a_partial_payment_reports_half_and_a_wrong_secret_does_not_verify() {
    let now = start().await;
    let receiver = Receiver::start().await;
    let (_, created) = post(&now, "/payment", &topup(&receiver.url), API_KEY).await;
    let id = created["payment_id"].as_str().unwrap();

    now.advance(id, "partially_paid").await.unwrap();
    let status = now.send_ipn_with_secret(id, "not-the-ipn-secret").await.unwrap();

    assert_eq!(status, 200);
    let deliveries = receiver.deliveries();
    assert_eq!(deliveries[0].json()["actually_paid"], 0.00016667);
    assert_eq!(deliveries[0].json()["actually_paid_at_fiat"], 10.0);
    assert!(verifies(&deliveries[0], IPN_SECRET));
    assert!(!verifies(&deliveries[1], IPN_SECRET));
    assert!(verifies(&deliveries[1], "not-the-ipn-secret"));
    assert_eq!(deliveries[1].json()["payment_status"], "partially_paid");
}

#[tokio::test]
async fn advance_refuses_unknown_statuses_payments_and_missing_callbacks() {
    let now = start().await;
    let mut no_callback = topup("");
    no_callback.as_object_mut().unwrap().remove("ipn_callback_url");
    let (_, created) = post(&now, "/payment", &no_callback, API_KEY).await;
    let id = created["payment_id"].as_str().unwrap();

    assert!(now.advance(id, "finished").await.is_err());
    assert!(now.advance("1234567890", "finished").await.is_err());
    assert_eq!(now.payment(id).unwrap()["payment_status"], "waiting");

    let receiver = Receiver::start().await;
    let (_, with_callback) = post(&now, "/payment", &topup(&receiver.url), API_KEY).await;
    let with_callback = with_callback["payment_id"].as_str().unwrap();
    assert!(now.advance(with_callback, "teleported").await.is_err());
    assert!(receiver.deliveries().is_empty());
}

#[tokio::test]
async fn an_invoice_is_created_and_paying_it_opens_a_payment_that_carries_its_id() {
    let now = start().await;
    let receiver = Receiver::start().await;
    let request = json!({
        "price_amount": 15, "price_currency": "usd", "order_id": "topup-7",
        "ipn_callback_url": receiver.url,
        "success_url": "https://proxy.example/ok", "cancel_url": "https://proxy.example/no",
    });

    let (status, invoice) = post(&now, "/invoice", &request, API_KEY).await;

    assert_eq!(status, 200);
    let invoice_id = invoice["id"].as_str().unwrap();
    assert!(
        invoice["invoice_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("iid={invoice_id}"))
    );
    assert_eq!(now.invoices(), vec![invoice.clone()]);
    let payment_id = now.pay_invoice(invoice_id, "usdttrc20").unwrap();
    let payment = now.payment(&payment_id).unwrap();
    assert_eq!(payment["invoice_id"].as_u64().unwrap().to_string(), invoice_id);
    assert_eq!(payment["pay_amount"], 15.0);
    assert_eq!(payment["order_id"], "topup-7");
    assert_eq!(now.advance(&payment_id, "finished").await.unwrap(), 200);
    assert_eq!(receiver.last().json()["invoice_id"], payment["invoice_id"]);
}

#[tokio::test]
async fn injected_failures_create_nothing() {
    let now = start().await;
    now.fail_next(429, 1);

    let (status, body) = post(&now, "/payment", &topup("http://127.0.0.1:9/ipn"), API_KEY).await;

    assert_eq!((status, body["code"].as_str()), (429, Some("TOO_MANY_REQUESTS")));
    assert_eq!(now.executed_count(), 0);
    let (status, _) = post(&now, "/payment", &topup("http://127.0.0.1:9/ipn"), API_KEY).await;
    assert_eq!(status, 201);
}
