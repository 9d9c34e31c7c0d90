//! `FakeStripe`'s asynchronous settlement and signed events (spec A6).

use std::time::{SystemTime, UNIX_EPOCH};

use gpuproxy_payment_sim::SendOptions;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::receiver::{Delivery, Receiver};
use crate::stripe_client::{self, VISA_TOPUP, WEBHOOK_SECRET, create};

/// Verifies a delivery the way Stripe's libraries do, written independently of the fake: some
/// `v1` is HMAC-SHA256(secret, "t.body") over the raw bytes, and `t` is within 300 s of now.
fn verifies(delivery: &Delivery, secret: &str) -> bool {
    let header = delivery.header("stripe-signature");
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for pair in header.split(',') {
        match pair.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    if (now - timestamp).abs() > 300 {
        return false;
    }
    signatures.iter().any(|signature| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(&delivery.body);
        hex::decode(signature).is_ok_and(|bytes| mac.verify_slice(&bytes).is_ok())
    })
}

async fn processing_intent(stripe: &gpuproxy_payment_sim::FakeStripe) -> String {
    stripe.set_async(true);
    let (status, intent) = create(stripe, VISA_TOPUP, Some("topup-async")).await;
    assert_eq!((status, intent["status"].as_str()), (200, Some("processing")));
    assert_eq!(intent["amount_received"], 0);
    intent["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn complete_settles_a_processing_intent_and_posts_a_verifiable_succeeded_event() {
    let stripe = stripe_client::start().await;
    let receiver = Receiver::start().await;
    stripe.set_webhook_url(&receiver.url);
    let id = processing_intent(&stripe).await;

    let (event_id, status) = stripe.complete(&id, true).await.unwrap();

    assert_eq!(status, 200);
    let delivery = receiver.last();
    assert!(verifies(&delivery, WEBHOOK_SECRET));
    assert!(delivery.header("content-type").starts_with("application/json"));
    let event = delivery.json();
    assert_eq!(event["id"], event_id.as_str());
    assert!(event_id.starts_with("evt_"));
    assert_eq!(event["object"], "event");
    assert_eq!(event["type"], "payment_intent.succeeded");
    assert_eq!(event["livemode"], false);
    assert!(event["api_version"].is_string());
    assert_eq!(event["data"]["object"]["id"], id.as_str());
    assert_eq!(event["data"]["object"]["status"], "succeeded");
    assert_eq!(event["data"]["object"]["amount_received"], 2000);
    assert_eq!(event["data"]["object"]["metadata"]["user_id"], "42");
    assert_eq!(stripe.payment_intent(&id).unwrap()["status"], "succeeded");
    assert_eq!(stripe.events(), vec![event]);
}

#[tokio::test]
async fn a_failed_settlement_sends_payment_failed_with_the_decline() {
    let stripe = stripe_client::start().await;
    let receiver = Receiver::start().await;
    stripe.set_webhook_url(&receiver.url);
    let id = processing_intent(&stripe).await;
    receiver.answer_with(500);

    let (_, status) = stripe.complete(&id, false).await.unwrap();

    assert_eq!(status, 500, "the receiver's status is reported");
    let event = receiver.last().json();
    assert_eq!(event["type"], "payment_intent.payment_failed");
    let intent = &event["data"]["object"];
    assert_eq!(intent["status"], "requires_payment_method");
    assert_eq!(intent["amount_received"], 0);
    assert_eq!(intent["last_payment_error"]["type"], "card_error");
    assert_eq!(intent["last_payment_error"]["code"], "card_declined");
    assert_eq!(
        stripe.payment_intent(&id).unwrap()["status"],
        "requires_payment_method"
    );
}

#[tokio::test]
async fn complete_refuses_an_intent_that_is_not_processing_and_changes_nothing() {
    let stripe = stripe_client::start().await;
    let receiver = Receiver::start().await;
    let (_, intent) = create(&stripe, VISA_TOPUP, None).await;
    let id = intent["id"].as_str().unwrap();

    assert!(stripe.complete(id, true).await.is_err(), "no webhook url yet");
    stripe.set_webhook_url(&receiver.url);
    assert!(stripe.complete(id, false).await.is_err(), "already succeeded");
    assert!(stripe.complete("pi_unknown", true).await.is_err());

    assert!(receiver.deliveries().is_empty());
    assert_eq!(stripe.payment_intent(id).unwrap()["status"], "succeeded");
}

#[tokio::test]
async fn send_event_can_replay_an_id_sign_stale_or_sign_with_a_wrong_secret() {
    let stripe = stripe_client::start().await;
    let receiver = Receiver::start().await;
    stripe.set_webhook_url(&receiver.url);
    let (_, intent) = create(&stripe, VISA_TOPUP, Some("topup-99")).await;
    let id = intent["id"].as_str().unwrap();

    let (first_id, _) = stripe
        .send_event("payment_intent.succeeded", id, SendOptions::default())
        .await
        .unwrap();
    let replay = SendOptions {
        event_id: Some(first_id.clone()),
        ..SendOptions::default()
    };
    let (replayed_id, _) = stripe
        .send_event("payment_intent.succeeded", id, replay)
        .await
        .unwrap();
    let stale = SendOptions {
        timestamp_offset_secs: -3600,
        ..SendOptions::default()
    };
    stripe
        .send_event("payment_intent.succeeded", id, stale)
        .await
        .unwrap();
    let wrong_secret = SendOptions {
        secret: Some("whsec_not_the_endpoint_secret".to_owned()),
        ..SendOptions::default()
    };
    stripe
        .send_event("payment_intent.succeeded", id, wrong_secret)
        .await
        .unwrap();

    let deliveries = receiver.deliveries();
    assert_eq!(deliveries.len(), 4);
    assert!(verifies(&deliveries[0], WEBHOOK_SECRET));
    assert_eq!(replayed_id, first_id);
    assert_eq!(deliveries[1].json()["id"], first_id.as_str());
    assert!(verifies(&deliveries[1], WEBHOOK_SECRET));
    assert!(
        !verifies(&deliveries[2], WEBHOOK_SECRET),
        "a stale timestamp fails"
    );
    assert!(!verifies(&deliveries[3], WEBHOOK_SECRET), "a wrong secret fails");
    assert!(verifies(&deliveries[3], "whsec_not_the_endpoint_secret"));
    // An event about an API-created object names the request and key that created it.
    let event = deliveries[0].json();
    assert_eq!(event["request"]["idempotency_key"], "topup-99");
    assert!(event["request"]["id"].as_str().unwrap().starts_with("req_"));
}

#[tokio::test]
async fn the_signature_covers_the_raw_bytes_not_a_reserialisation() {
    let stripe = stripe_client::start().await;
    let receiver = Receiver::start().await;
    stripe.set_webhook_url(&receiver.url);
    let (_, intent) = create(&stripe, VISA_TOPUP, None).await;
    stripe
        .send_event(
            "payment_intent.succeeded",
            intent["id"].as_str().unwrap(),
            SendOptions::default(),
        )
        .await
        .unwrap();
    let mut delivery = receiver.last();

    delivery.body = serde_json::to_vec(&delivery.json()).unwrap();

    assert!(!verifies(&delivery, WEBHOOK_SECRET));
}
