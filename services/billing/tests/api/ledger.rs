//! Credits, usage and the overage cap under concurrency.

use gpuproxy_domain::UserId;
use std::sync::Arc;
use std::time::Duration;

use gpuproxy_billing::{Error, NewUsage};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::billing::v1 as pb;

use crate::helpers::{Backend, Harness, blank_usage, collect_named, dollars, next_named, user};

fn usage(user_id: UserId, cost: i64, key: &str, enforce_cap: bool) -> NewUsage {
    NewUsage {
        user_id,
        kind: "request".to_owned(),
        cost_micros: cost,
        client_id: "key_abc".to_owned(),
        client_ip: "203.0.113.7".to_owned(),
        idempotency_key: key.to_owned(),
        enforce_cap,
        ..blank_usage(user_id)
    }
}

async fn two_hundred_concurrent_debits_stop_exactly_at_the_cap(backend: Backend) {
    let harness = Arc::new(Harness::start(backend).await);
    let user_id = user();
    harness
        .billing
        .add_credits(user_id, dollars(10), "start", None)
        .await
        .unwrap();
    harness
        .billing
        .set_settings(user_id, Some(dollars(5)), None, None)
        .await
        .unwrap();
    // $10 of credit and a $5 cap: exactly 150 debits of $0.10 fit.
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..200 {
        let harness = Arc::clone(&harness);
        tasks.spawn(async move {
            harness
                .billing
                .record_usage(usage(user_id, 100_000, &format!("debit-{index}"), true))
                .await
        });
    }
    let mut allowed = 0;
    for result in tasks.join_all().await {
        match result {
            Ok(_) => allowed += 1,
            Err(Error::CreditsExhausted { .. }) => {}
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!(allowed, 150);
    let balance = harness.balance_matches_ledger(user_id).await;
    assert_eq!(balance, -dollars(5));
    assert_eq!(
        harness.rows("usage_records", user_id).await,
        150,
        "refused debits leave no record"
    );
    let credits = harness.billing.credits(user_id).await.unwrap();
    assert_eq!(credits.credited_micros, dollars(10));
}

async fn a_concurrent_mix_keeps_the_balance_equal_to_the_sum_of_entries(backend: Backend) {
    let harness = Arc::new(Harness::start(backend).await);
    let user_id = user();
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..60 {
        let harness = Arc::clone(&harness);
        tasks.spawn(async move {
            match index % 3 {
                0 => harness
                    .billing
                    .add_credits(user_id, 1_234_567, "grant", Some(&format!("grant-{index}")))
                    .await
                    .map(|_| ()),
                1 => harness
                    .billing
                    .record_usage(usage(user_id, 654_321, &format!("use-{index}"), false))
                    .await
                    .map(|_| ()),
                // The same key from two tasks credits once.
                _ => harness
                    .billing
                    .add_credits(user_id, 1_000_000, "grant", Some("shared"))
                    .await
                    .map(|_| ()),
            }
        });
    }
    for result in tasks.join_all().await {
        result.unwrap();
    }
    let balance = harness.balance_matches_ledger(user_id).await;
    assert_eq!(balance, 20 * 1_234_567 - 20 * 654_321 + 1_000_000);
    assert_eq!(harness.rows("credit_entries", user_id).await, 20 + 20 + 1);
}

async fn a_repeated_usage_key_debits_once(backend: Backend) {
    let harness = Harness::start(backend).await;
    let user_id = user();
    let first = harness
        .billing
        .record_usage(usage(user_id, 250_000, "meter-1", false))
        .await
        .unwrap();
    let again = harness
        .billing
        .record_usage(usage(user_id, 250_000, "meter-1", false))
        .await
        .unwrap();
    assert!(!first.replayed);
    assert!(again.replayed);
    assert_eq!(first.usage.id, again.usage.id);
    assert_eq!(harness.balance_matches_ledger(user_id).await, -250_000);
    let (rows, count, total) = harness.billing.list_usage(user_id, 10, 0).await.unwrap();
    assert_eq!((rows.len(), count, total), (1, 1, 250_000));
    assert_eq!(rows[0].client_ip, "203.0.113.7");
    assert_eq!(rows[0].client_id, "key_abc");
}

async fn credits_low_is_published_once_when_the_threshold_is_crossed(backend: Backend) {
    let harness = Harness::start_with(backend, &[("CREDITS_LOW_THRESHOLD", "5")]).await;
    let mut events = harness.events().await;
    let user_id = user();
    harness
        .billing
        .add_credits(user_id, dollars(6), "start", None)
        .await
        .unwrap();
    for index in 0..4 {
        harness
            .billing
            .record_usage(usage(user_id, dollars(1) / 2, &format!("u{index}"), false))
            .await
            .unwrap();
    }
    let low = next_named(&mut events, names::CREDITS_LOW).await;
    assert_eq!(low.data["user_id"], user_id.to_string());
    assert_eq!(low.data["balance_micros"], 4_500_000);
    assert_eq!(low.data["threshold_micros"], 5_000_000);
    let more = collect_named(&mut events, names::CREDITS_LOW, Duration::from_millis(300)).await;
    assert!(more.is_empty(), "one event per crossing, not per debit");
}

async fn bad_amounts_are_refused_over_grpc_with_codes_and_change_nothing(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut client = harness.client.clone();
    let user_id = user();
    let negative = client
        .record_usage(pb::RecordUsageRequest {
            user_id: user_id.to_string(),
            cost_micros: -1,
            kind: "request".to_owned(),
            ..pb::RecordUsageRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(negative.code(), tonic::Code::InvalidArgument);
    let zero_credit = client
        .add_credits(pb::AddCreditsRequest {
            user_id: user_id.to_string(),
            amount_micros: 0,
            ..pb::AddCreditsRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(zero_credit.code(), tonic::Code::InvalidArgument);
    for stranger in ["", "alice", "not-a-uuid"] {
        let refused = client
            .add_credits(pb::AddCreditsRequest {
                user_id: stranger.to_owned(),
                amount_micros: dollars(1),
                ..pb::AddCreditsRequest::default()
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{stranger:?}");
        assert_eq!(gpuproxy_errors::field_of(&refused).as_deref(), Some("user_id"));
    }
    let refused = client
        .record_usage(pb::RecordUsageRequest {
            user_id: user_id.to_string(),
            cost_micros: 1,
            kind: "request".to_owned(),
            enforce_cap: true,
            ..pb::RecordUsageRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    assert_eq!(
        gpuproxy_errors::code_of(&refused),
        gpuproxy_errors::ErrorCode::CreditsExhausted
    );
    let credits = client
        .get_credits(pb::GetCreditsRequest {
            user_id: user_id.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(credits.balance_micros, 0);
    assert_eq!(harness.rows("credit_entries", user_id).await, 0);
    let check = client
        .check_credits(pb::CheckCreditsRequest {
            user_id: user_id.to_string(),
            amount_micros: 1,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!check.allowed);
}

crate::on_both_databases!(
    two_hundred_concurrent_debits_stop_exactly_at_the_cap,
    a_concurrent_mix_keeps_the_balance_equal_to_the_sum_of_entries,
    a_repeated_usage_key_debits_once,
    credits_low_is_published_once_when_the_threshold_is_crossed,
    bad_amounts_are_refused_over_grpc_with_codes_and_change_nothing,
);
