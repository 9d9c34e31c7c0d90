//! Processor webhooks: only a fresh, correctly signed, first-seen event changes anything.

use gpuproxy_billing::{Error, NewPayment};
use gpuproxy_domain::UserId;
use gpuproxy_events::names;
use gpuproxy_payment_sim::SendOptions;

use crate::helpers::{Backend, Harness, STRIPE_WEBHOOK_SECRET, dollars, next_named, user};

async fn pending_card_payment(harness: &Harness, user_id: UserId) -> (String, String) {
    harness.stripe.set_async(true);
    let payment = harness
        .billing
        .create_payment(NewPayment {
            user_id,
            amount_micros: dollars(30),
            currency: "usd".to_owned(),
            provider: "stripe".to_owned(),
            payment_method: "card:pm_card_visa".to_owned(),
            idempotency_key: "async-1".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(payment.status, "pending");
    (payment.id, payment.provider_reference.unwrap())
}

async fn forged_stale_and_replayed_stripe_events_change_nothing(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    let (_, intent) = pending_card_payment(&harness, user_id).await;
    let wrong_secret = SendOptions {
        secret: Some("whsec_somebody_else".to_owned()),
        ..SendOptions::default()
    };
    let (_, status) = harness
        .stripe
        .send_event("payment_intent.succeeded", &intent, wrong_secret)
        .await
        .unwrap();
    assert_eq!(status, 400);
    let stale = SendOptions {
        timestamp_offset_secs: -301,
        ..SendOptions::default()
    };
    let (_, status) = harness
        .stripe
        .send_event("payment_intent.succeeded", &intent, stale)
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert_eq!(
        harness.balance_matches_ledger(user_id).await,
        0,
        "nothing credited yet"
    );

    let mut events = harness.events().await;
    let (event_id, status) = harness.stripe.complete(&intent, true).await.unwrap();
    assert_eq!(status, 200);
    next_named(&mut events, names::PAYMENT_COMPLETED).await;
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(30));

    let replay = SendOptions {
        event_id: Some(event_id),
        ..SendOptions::default()
    };
    let (_, status) = harness
        .stripe
        .send_event("payment_intent.succeeded", &intent, replay)
        .await
        .unwrap();
    assert_eq!(status, 200, "a replay is acknowledged");
    let fresh_duplicate = harness
        .stripe
        .send_event("payment_intent.succeeded", &intent, SendOptions::default())
        .await;
    assert_eq!(fresh_duplicate.unwrap().1, 200);
    assert_eq!(
        harness.balance_matches_ledger(user_id).await,
        dollars(30),
        "credited once"
    );
    assert_eq!(harness.rows("credit_entries", user_id).await, 1);
}

async fn a_failed_async_payment_adds_no_credits(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    let (payment_id, intent) = pending_card_payment(&harness, user_id).await;
    let mut events = harness.events().await;
    let (_, status) = harness.stripe.complete(&intent, false).await.unwrap();
    assert_eq!(status, 200);
    let failed = next_named(&mut events, names::PAYMENT_FAILED).await;
    assert_eq!(failed.data["payment_id"], payment_id.as_str());
    assert_eq!(harness.balance_matches_ledger(user_id).await, 0);
    let retried = harness
        .billing
        .create_payment(NewPayment {
            user_id,
            amount_micros: dollars(30),
            currency: "usd".to_owned(),
            provider: "stripe".to_owned(),
            payment_method: "card:pm_card_visa".to_owned(),
            idempotency_key: "async-1".to_owned(),
        })
        .await
        .unwrap_err();
    assert!(matches!(retried, Error::Declined { .. }));
}

async fn a_signature_made_independently_is_accepted(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    let (_, intent) = pending_card_payment(&harness, user_id).await;
    let now = chrono::Utc::now().timestamp();
    let body = serde_json::json!({
        "id": "evt_independent_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {"object": harness.stripe.payment_intent(&intent).map(|mut pi| {
            pi["status"] = "succeeded".into();
            pi["amount_received"] = pi["amount"].clone();
            pi
        }).unwrap()},
    })
    .to_string();
    let header = {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(STRIPE_WEBHOOK_SECRET.as_bytes()).unwrap();
        mac.update(format!("{now}.{body}").as_bytes());
        format!("t={now},v1={}", hex::encode(mac.finalize().into_bytes()))
    };
    let (applied, _) = harness
        .billing
        .handle_webhook("stripe", &header, body.as_bytes())
        .await
        .unwrap();
    assert_eq!(applied.as_str(), "settled");
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(30));
}

async fn a_crypto_payment_settles_on_the_processors_word_only(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut events = harness.events().await;
    let user_id = user();
    let payment = harness
        .billing
        .create_payment(NewPayment {
            user_id,
            amount_micros: dollars(50),
            currency: "USD".to_owned(),
            provider: "crypto".to_owned(),
            payment_method: "crypto:ethereum:0x123abc".to_owned(),
            idempotency_key: "coin-1".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(payment.status, "pending");
    assert!(
        payment
            .pay_to
            .as_deref()
            .is_some_and(|address| !address.is_empty()),
        "an address to pay to"
    );
    assert_eq!(payment.pay_currency.as_deref(), Some("eth"));
    let reference = payment.provider_reference.clone().unwrap();

    let status = harness
        .crypto
        .send_ipn_with_secret(&reference, "not-the-secret")
        .await
        .unwrap();
    assert_eq!(status, 400, "a forged callback is refused");
    harness.crypto.advance(&reference, "confirming").await.unwrap();
    assert_eq!(
        harness.balance_matches_ledger(user_id).await,
        0,
        "not credited before finished"
    );
    assert_eq!(harness.crypto.advance(&reference, "finished").await.unwrap(), 200);
    let completed = next_named(&mut events, names::PAYMENT_COMPLETED).await;
    assert_eq!(completed.data["payment_id"], payment.id.as_str());
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(50));
    // The processor sends the same callback again: nothing more.
    harness.crypto.advance(&reference, "finished").await.unwrap();
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(50));
}

crate::on_both_databases!(
    forged_stale_and_replayed_stripe_events_change_nothing,
    a_failed_async_payment_adds_no_credits,
    a_signature_made_independently_is_accepted,
    a_crypto_payment_settles_on_the_processors_word_only,
);
