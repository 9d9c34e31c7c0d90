//! Payments through the three processors: settled once, declines credit nothing, cards refused.

use gpuproxy_domain::UserId;
use std::sync::Arc;

use gpuproxy_billing::{Error, NewPayment};
use gpuproxy_events::names;

use crate::helpers::{Backend, Harness, dollars, next_named, user};

fn card(user_id: UserId, amount: i64, method: &str, key: &str) -> NewPayment {
    NewPayment {
        user_id,
        amount_micros: amount,
        currency: "USD".to_owned(),
        provider: "stripe".to_owned(),
        payment_method: method.to_owned(),
        idempotency_key: key.to_owned(),
    }
}

async fn a_card_payment_settles_credits_and_publishes_once(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut events = harness.events().await;
    let user_id = user();
    let payment = harness
        .billing
        .create_payment(card(user_id, dollars(50), "card:pm_card_visa", "topup-1"))
        .await
        .unwrap();
    assert_eq!(payment.status, "completed");
    assert!(payment.provider_reference.as_deref().unwrap().starts_with("pi_"));
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(50));
    let completed = next_named(&mut events, names::PAYMENT_COMPLETED).await;
    assert_eq!(completed.data["payment_id"], payment.id.as_str());
    assert_eq!(completed.data["amount_micros"], dollars(50));
    let intent = harness
        .stripe
        .payment_intent(payment.provider_reference.as_deref().unwrap())
        .unwrap();
    assert_eq!(intent["amount"], 5000, "Stripe is asked in cents");
    assert_eq!(intent["metadata"]["payment_id"], payment.id.as_str());
    let (transactions, count) = harness.billing.transactions(user_id, 10, 0).await.unwrap();
    assert_eq!((transactions.len(), count), (1, 1));
    assert_eq!(transactions[0].status, "completed");
}

async fn ten_retries_with_one_key_charge_once(backend: Backend) {
    let harness = Arc::new(Harness::start(backend).await);
    let user_id = user();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let harness = Arc::clone(&harness);
        tasks.spawn(async move {
            harness
                .billing
                .create_payment(card(user_id, dollars(20), "card:pm_card_mastercard", "same-key"))
                .await
        });
    }
    let mut ids = Vec::new();
    for result in tasks.join_all().await {
        // A retry racing the first call finds Stripe still executing it (409) and tries again.
        ids.push(result.unwrap().id);
    }
    let again = harness
        .billing
        .create_payment(card(user_id, dollars(20), "card:pm_card_mastercard", "same-key"))
        .await
        .unwrap();
    assert!(ids.iter().all(|id| *id == again.id));
    assert_eq!(again.status, "completed");
    assert_eq!(
        harness.stripe.executed_count(),
        1,
        "Stripe executed one PaymentIntent"
    );
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(20));
    assert_eq!(harness.rows("payments", user_id).await, 1);
}

async fn failures_on_the_way_are_retried_with_the_same_key(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    harness.stripe.fail_next(500, 2);
    let payment = harness
        .billing
        .create_payment(card(user_id, dollars(10), "card:pm_card_visa", "flaky"))
        .await
        .unwrap();
    assert_eq!(payment.status, "completed");
    assert_eq!(harness.stripe.executed_count(), 1);
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(10));
}

async fn a_declined_card_adds_nothing_and_says_so_every_time(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut events = harness.events().await;
    let user_id = user();
    for _ in 0..2 {
        let declined = harness
            .billing
            .create_payment(card(
                user_id,
                dollars(10),
                "card:pm_card_chargeDeclinedInsufficientFunds",
                "poor",
            ))
            .await
            .unwrap_err();
        let Error::Declined { reason, .. } = declined else {
            panic!("expected a decline, got {declined}");
        };
        assert!(reason.contains("card_declined"), "{reason}");
    }
    let failed = next_named(&mut events, names::PAYMENT_FAILED).await;
    assert_eq!(failed.data["user_id"], user_id.to_string());
    assert_eq!(harness.balance_matches_ledger(user_id).await, 0);
    assert_eq!(harness.rows("credit_entries", user_id).await, 0);
    let (transactions, _) = harness.billing.transactions(user_id, 10, 0).await.unwrap();
    assert_eq!(transactions[0].status, "failed");
}

async fn a_raw_card_number_is_refused_and_never_stored_or_sent(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    let refused = harness
        .billing
        .create_payment(card(user_id, dollars(50), "card:4242424242424242:12/25:123", ""))
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::RawCard));
    assert!(
        !refused.to_string().contains("4242"),
        "the error never repeats the number"
    );
    assert_eq!(harness.rows("payments", user_id).await, 0);
    assert!(
        harness
            .stripe
            .raw_requests()
            .iter()
            .all(|body| !body.contains("4242424242424242"))
    );
    assert_eq!(harness.stripe.executed_count(), 0);
}

async fn a_key_reused_for_another_payment_is_a_conflict(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    harness
        .billing
        .create_payment(card(user_id, dollars(10), "card:pm_card_visa", "k1"))
        .await
        .unwrap();
    let conflict = harness
        .billing
        .create_payment(card(user_id, dollars(11), "card:pm_card_visa", "k1"))
        .await
        .unwrap_err();
    assert!(matches!(conflict, Error::IdempotencyConflict));
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(10));
}

async fn bad_requests_are_refused_before_any_processor_is_called(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    for (amount, currency, provider, method) in [
        (dollars(10), "EUR", "stripe", "card:pm_card_visa"),
        (10_000, "USD", "stripe", "card:pm_card_visa"),
        (dollars(10) + 1, "USD", "stripe", "card:pm_card_visa"),
        (dollars(10), "USD", "paypal", "card:pm_card_visa"),
        (dollars(10), "USD", "stripe", "card:tok_visa"),
        (dollars(10), "USD", "crypto", "ethereum"),
    ] {
        let refused = harness
            .billing
            .create_payment(NewPayment {
                user_id,
                amount_micros: amount,
                currency: currency.to_owned(),
                provider: provider.to_owned(),
                payment_method: method.to_owned(),
                idempotency_key: String::new(),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(refused, Error::InvalidField { .. }),
            "{amount} {currency} {provider} {method}: {refused}"
        );
    }
    assert_eq!(harness.rows("payments", user_id).await, 0);
    assert_eq!(harness.stripe.executed_count(), 0);
}

async fn afterdark_charges_settle_and_declines_fail(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    let paid = harness
        .billing
        .create_payment(NewPayment {
            user_id,
            amount_micros: dollars(25),
            currency: "usd".to_owned(),
            provider: "AfterDark".to_owned(),
            payment_method: String::new(),
            idempotency_key: "ad-1".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(paid.status, "completed");
    harness.afterdark.set_decline(true);
    let declined = harness
        .billing
        .create_payment(NewPayment {
            user_id,
            amount_micros: dollars(25),
            currency: "usd".to_owned(),
            provider: "afterdark".to_owned(),
            payment_method: String::new(),
            idempotency_key: "ad-2".to_owned(),
        })
        .await
        .unwrap_err();
    assert!(matches!(declined, Error::Declined { .. }));
    assert_eq!(harness.afterdark.executed_count(), 2);
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(25));
}

crate::on_both_databases!(
    a_card_payment_settles_credits_and_publishes_once,
    ten_retries_with_one_key_charge_once,
    failures_on_the_way_are_retried_with_the_same_key,
    a_declined_card_adds_nothing_and_says_so_every_time,
    a_raw_card_number_is_refused_and_never_stored_or_sent,
    a_key_reused_for_another_payment_is_a_conflict,
    bad_requests_are_refused_before_any_processor_is_called,
    afterdark_charges_settle_and_declines_fail,
);
