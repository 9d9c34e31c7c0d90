//! Auto-renewal: a debit below the low-credit threshold charges the saved payment method once.

use gpuproxy_domain::UserId;
use std::time::Duration;

use gpuproxy_billing::{Error, NewPayment, NewUsage};
use gpuproxy_events::names;

use crate::helpers::{Backend, Harness, blank_usage, collect_named, dollars, next_named, user};

/// Renewal rounds every 100 ms, so a retried one comes quickly.
const FAST: [(&str, &str); 1] = [("CREDITS_AUTO_RENEW_INTERVAL", "100ms")];

fn debit(user_id: UserId, cost: i64, key: &str) -> NewUsage {
    NewUsage {
        user_id,
        kind: "request".to_owned(),
        cost_micros: cost,
        idempotency_key: key.to_owned(),
        ..blank_usage(user_id)
    }
}

async fn pay(harness: &Harness, user_id: UserId, provider: &str, method: &str, amount: i64) {
    let paid = harness
        .billing
        .create_payment(NewPayment {
            user_id,
            amount_micros: amount,
            currency: "usd".to_owned(),
            provider: provider.to_owned(),
            payment_method: method.to_owned(),
            idempotency_key: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(paid.status, "completed");
}

/// A fresh user who paid `paid` with `method` and renews by `renewal`.
async fn renewing(harness: &Harness, provider: &str, method: &str, paid: i64, renewal: i64) -> UserId {
    let user_id = user();
    pay(harness, user_id, provider, method, paid).await;
    harness
        .billing
        .set_settings(user_id, None, Some(true), Some(renewal))
        .await
        .unwrap();
    user_id
}

async fn renewals(harness: &Harness, user_id: UserId) -> Vec<(String, String)> {
    let database = gpuproxy_db::Database::connect(harness.database.config())
        .await
        .unwrap();
    sqlx::query_as(
        "SELECT status, idempotency_key FROM payments WHERE user_id = $1 AND purpose = 'renewal' ORDER BY created_at",
    )
    .bind(user_id.to_string())
    .fetch_all(database.pool())
    .await
    .unwrap()
}

async fn a_debit_below_the_threshold_renews_from_the_saved_card_once_per_crossing(backend: Backend) {
    let harness = Harness::start_with(backend, &FAST).await;
    let mut events = harness.events().await;
    let user_id = user();
    pay(&harness, user_id, "stripe", "card:pm_card_visa", dollars(10)).await;
    let account = harness
        .billing
        .set_settings(user_id, None, Some(true), Some(dollars(20)))
        .await
        .unwrap();
    assert_eq!(
        (account.auto_renew, account.auto_renew_amount_micros),
        (1, dollars(20))
    );

    // $10 − $6 = $4, below the $5 threshold.
    harness
        .billing
        .record_usage(debit(user_id, dollars(6), "u1"))
        .await
        .unwrap();
    let renewed = next_named(&mut events, names::SUBSCRIPTION_RENEWED).await;
    assert_eq!(renewed.data["user_id"], user_id.to_string());
    assert_eq!(renewed.data["amount_micros"], dollars(20));
    assert_eq!(renewed.data["balance_micros"], dollars(24));
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(24));
    let (entries, _) = harness.billing.list_entries(user_id, 10, 0).await.unwrap();
    assert_eq!(entries[0].kind, "renewal");
    assert_eq!(entries[0].amount_micros, dollars(20));
    let renewal_request = harness
        .stripe
        .raw_requests()
        .into_iter()
        .filter(|body| body.contains("off_session=true"))
        .count();
    assert_eq!(renewal_request, 1, "the renewal is charged off-session, once");

    // Debits that stay above the threshold renew nothing; the next crossing renews again.
    harness
        .billing
        .record_usage(debit(user_id, dollars(1), "u2"))
        .await
        .unwrap();
    let none = collect_named(
        &mut events,
        names::SUBSCRIPTION_RENEWED,
        Duration::from_millis(500),
    )
    .await;
    assert!(none.is_empty(), "{none:?}");
    harness
        .billing
        .record_usage(debit(user_id, dollars(19), "u3"))
        .await
        .unwrap();
    next_named(&mut events, names::SUBSCRIPTION_RENEWED).await;
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(24));
    let made = renewals(&harness, user_id).await;
    assert_eq!(made.len(), 2, "{made:?}");
    assert!(
        made.iter()
            .all(|(status, key)| status == "completed" && key.starts_with("auto-renew:"))
    );
}

async fn an_unreachable_processor_is_retried_with_the_same_key(backend: Backend) {
    let harness = Harness::start_with(backend, &FAST).await;
    let mut events = harness.events().await;
    let user_id = renewing(&harness, "stripe", "card:pm_card_visa", dollars(6), dollars(10)).await;
    // Every attempt of the first rounds answers 503 (each call retries PAYMENT_MAX_RETRIES times).
    harness.stripe.fail_next(503, 8);
    harness
        .billing
        .record_usage(debit(user_id, dollars(2), "u1"))
        .await
        .unwrap();
    next_named(&mut events, names::SUBSCRIPTION_RENEWED).await;
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(14));
    let made = renewals(&harness, user_id).await;
    assert_eq!(made.len(), 1, "one payment, however many rounds: {made:?}");
    assert_eq!(
        harness.stripe.executed_count(),
        2,
        "the first payment and one renewal"
    );
    let attempts = harness
        .stripe
        .raw_requests()
        .into_iter()
        .filter(|body| body.contains("off_session=true"))
        .count();
    assert_eq!(attempts, 9, "eight refused attempts, then the one that charged");
}

async fn a_declined_renewal_fails_once_and_is_not_retried(backend: Backend) {
    let harness = Harness::start_with(backend, &FAST).await;
    let mut events = harness.events().await;
    let user_id = renewing(&harness, "afterdark", "", dollars(6), dollars(10)).await;
    harness.afterdark.set_decline(true);
    harness
        .billing
        .record_usage(debit(user_id, dollars(2), "u1"))
        .await
        .unwrap();
    let failed = next_named(&mut events, names::PAYMENT_FAILED).await;
    assert_eq!(failed.data["user_id"], user_id.to_string());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        harness.afterdark.executed_count(),
        2,
        "the payment and one declined renewal"
    );
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(4));
    let made = renewals(&harness, user_id).await;
    assert_eq!(
        made.iter().map(|(status, _)| status.as_str()).collect::<Vec<_>>(),
        ["failed"]
    );
}

async fn without_a_saved_method_or_with_renewal_off_nothing_is_charged(backend: Backend) {
    let harness = Harness::start_with(backend, &FAST).await;
    let mut events = harness.events().await;
    // Credited by an admin: there is no payment method to charge.
    let granted = user();
    harness
        .billing
        .add_credits(granted, dollars(6), "start", None)
        .await
        .unwrap();
    harness
        .billing
        .set_settings(granted, None, Some(true), Some(dollars(10)))
        .await
        .unwrap();
    harness
        .billing
        .record_usage(debit(granted, dollars(2), "u1"))
        .await
        .unwrap();
    // Paid by card, renewal off.
    let off = user();
    pay(&harness, off, "stripe", "card:pm_card_visa", dollars(6)).await;
    harness
        .billing
        .record_usage(debit(off, dollars(2), "u1"))
        .await
        .unwrap();
    let low = collect_named(&mut events, names::CREDITS_LOW, Duration::from_millis(600)).await;
    assert_eq!(low.len(), 2, "both crossed the threshold");
    assert!(renewals(&harness, granted).await.is_empty());
    assert!(renewals(&harness, off).await.is_empty());
    assert_eq!(harness.stripe.executed_count(), 1, "only the card payment");
}

async fn turning_renewal_on_while_low_renews_at_once_and_needs_an_amount(backend: Backend) {
    let harness = Harness::start_with(backend, &FAST).await;
    let mut events = harness.events().await;
    let user_id = user();
    pay(&harness, user_id, "stripe", "card:pm_card_visa", dollars(6)).await;
    harness
        .billing
        .record_usage(debit(user_id, dollars(3), "u1"))
        .await
        .unwrap();
    for (renew, amount) in [(Some(true), None), (None, Some(100_000)), (None, Some(1_005_000))] {
        let refused = harness
            .billing
            .set_settings(user_id, None, renew, amount)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &refused,
                Error::InvalidField {
                    field: "auto_renew_amount",
                    ..
                }
            ),
            "{renew:?} {amount:?}: {refused:?}"
        );
    }
    harness
        .billing
        .set_settings(user_id, None, Some(true), Some(dollars(5)))
        .await
        .unwrap();
    next_named(&mut events, names::SUBSCRIPTION_RENEWED).await;
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(8));
}

crate::on_both_databases!(
    a_debit_below_the_threshold_renews_from_the_saved_card_once_per_crossing,
    an_unreachable_processor_is_retried_with_the_same_key,
    a_declined_renewal_fails_once_and_is_not_retried,
    without_a_saved_method_or_with_renewal_off_nothing_is_charged,
    turning_renewal_on_while_low_renews_at_once_and_needs_an_amount,
);
