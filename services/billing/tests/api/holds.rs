//! Holds: concurrent admissions never overcommit credits; usage under a hold takes from it.

use gpuproxy_domain::UserId;
use std::sync::Arc;

use gpuproxy_billing::{Error, NewUsage};

use crate::helpers::{Backend, Harness, blank_usage, dollars, user};

/// A fresh user with `amount` of admin credits.
async fn funded(harness: &Harness, amount: i64) -> UserId {
    let user_id = user();
    harness
        .billing
        .add_credits(user_id, amount, "start", None)
        .await
        .unwrap();
    user_id
}

fn metered(user_id: UserId, cost: i64, key: &str, hold_id: &str) -> NewUsage {
    NewUsage {
        user_id,
        kind: "instance".to_owned(),
        cost_micros: cost,
        idempotency_key: key.to_owned(),
        hold_id: hold_id.to_owned(),
        ..blank_usage(user_id)
    }
}

async fn concurrent_holds_never_overcommit_the_credits(backend: Backend) {
    let harness = Arc::new(Harness::start(backend).await);
    let user_id = funded(&harness, dollars(10)).await;
    // 50 rents of $3/h race for $10: exactly three fit.
    let mut holds = tokio::task::JoinSet::new();
    for n in 0..50 {
        let (harness, user_id) = (Arc::clone(&harness), user_id);
        holds.spawn(async move {
            harness
                .billing
                .hold(user_id, &format!("rent-{n}"), dollars(3), 0)
                .await
                .unwrap()
                .0
        });
    }
    let held = holds.join_all().await.into_iter().filter(|held| *held).count();
    assert_eq!(held, 3);
    let account = harness.billing.credits(user_id).await.unwrap();
    assert_eq!(
        (account.balance_micros, account.held_micros),
        (dollars(10), dollars(9))
    );
    let (allowed, _) = harness.billing.check_credits(user_id, dollars(2)).await.unwrap();
    assert!(!allowed, "what is held is not available");
    assert_eq!(harness.rows("credit_holds", user_id).await, 3);
}

async fn usage_under_a_hold_takes_from_it_and_the_rest_is_released(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = funded(&harness, dollars(10)).await;
    let (held, _) = harness.billing.hold(user_id, "r1", dollars(6), 0).await.unwrap();
    assert!(held);
    let (again, account) = harness.billing.hold(user_id, "r1", dollars(6), 0).await.unwrap();
    assert!(again, "a repeated hold id answers as held");
    assert_eq!(account.held_micros, dollars(6), "and holds once");

    let first = harness
        .billing
        .record_usage(metered(user_id, dollars(2), "m1", "r1"))
        .await
        .unwrap();
    assert_eq!(first.hold_consumed, dollars(2));
    assert_eq!(
        (first.account.balance_micros, first.account.held_micros),
        (dollars(8), dollars(4))
    );
    // More than is left: the hold gives what it has, the rest is plain usage.
    let second = harness
        .billing
        .record_usage(metered(user_id, dollars(5), "m2", "r1"))
        .await
        .unwrap();
    assert_eq!(second.hold_consumed, dollars(4));
    assert_eq!(
        (second.account.balance_micros, second.account.held_micros),
        (dollars(3), 0)
    );
    let replay = harness
        .billing
        .record_usage(metered(user_id, dollars(5), "m2", "r1"))
        .await
        .unwrap();
    assert!(replay.replayed);
    assert_eq!(replay.hold_consumed, 0, "a replay takes nothing again");

    // Releasing: part, then the rest; another user's hold is not found.
    harness.billing.hold(user_id, "r2", dollars(2), 0).await.unwrap();
    let (released, part) = harness
        .billing
        .release_hold(user_id, "r2", dollars(1) / 2)
        .await
        .unwrap();
    assert_eq!((released, part.held_micros), (dollars(1) / 2, dollars(3) / 2));
    let (released, rest) = harness.billing.release_hold(user_id, "r2", 0).await.unwrap();
    assert_eq!((released, rest.held_micros), (dollars(3) / 2, 0), "what was left");
    let (released, _) = harness.billing.release_hold(user_id, "r2", 0).await.unwrap();
    assert_eq!(released, 0, "nothing is left to give back");
    let stranger = harness.billing.release_hold(user(), "r2", 0).await.unwrap_err();
    assert!(matches!(stranger, Error::NotFound { .. }), "{stranger:?}");
    assert_eq!(harness.balance_matches_ledger(user_id).await, dollars(3));
}

async fn an_expired_hold_gives_back_what_is_left(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = funded(&harness, dollars(5)).await;
    harness
        .billing
        .hold(user_id, "short", dollars(4), 2_000)
        .await
        .unwrap();
    harness
        .billing
        .record_usage(metered(user_id, dollars(1), "m1", "short"))
        .await
        .unwrap();
    assert_eq!(
        harness.billing.expire_holds().await.unwrap(),
        0,
        "not yet expired"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    assert_eq!(harness.billing.expire_holds().await.unwrap(), 1);
    let account = harness.billing.credits(user_id).await.unwrap();
    assert_eq!((account.balance_micros, account.held_micros), (dollars(4), 0));
    assert_eq!(harness.billing.expire_holds().await.unwrap(), 0, "released once");
}

async fn a_capped_debit_counts_what_is_held(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = funded(&harness, dollars(5)).await;
    harness.billing.hold(user_id, "gpu", dollars(4), 0).await.unwrap();
    let mut request = metered(user_id, dollars(2), "req", "");
    request.kind = "request".to_owned();
    request.enforce_cap = true;
    let refused = harness.billing.record_usage(request).await.unwrap_err();
    assert!(matches!(refused, Error::CreditsExhausted { .. }), "{refused:?}");
    for (hold_id, amount, ttl, field) in [
        ("", dollars(1), 0, "hold_id"),
        ("h", 0, 0, "amount"),
        ("h", dollars(1), -1, "ttl_ms"),
    ] {
        let invalid = harness
            .billing
            .hold(user_id, hold_id, amount, ttl)
            .await
            .unwrap_err();
        assert!(
            matches!(&invalid, Error::InvalidField { field: got, .. } if *got == field),
            "{invalid:?}"
        );
    }
    assert_eq!(harness.rows("credit_holds", user_id).await, 1);
}

crate::on_both_databases!(
    concurrent_holds_never_overcommit_the_credits,
    usage_under_a_hold_takes_from_it_and_the_rest_is_released,
    an_expired_hold_gives_back_what_is_left,
    a_capped_debit_counts_what_is_held,
);
