//! Admins' per-user limits change what checks and reservations allow, outlive restarts, reach other
//! replicas, and clear back to the global limits; one window can be reset alone.

use std::time::Duration;

use gpuproxy_errors::{ErrorCode, code_of, field_of};
use gpuproxy_proto::gpuproxy::guardrails::v1 as pb;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_server::GrpcChannel;

use crate::helpers::{Store, fresh_user, spawn_app, spent};

const DOLLAR: i64 = 1_000_000;

type Client = GuardrailsServiceClient<GrpcChannel>;

fn limit(window: &str, dollars: i64) -> pb::WindowLimit {
    pb::WindowLimit {
        window: window.to_owned(),
        limit_micros: dollars * DOLLAR,
    }
}

async fn set(client: &mut Client, user: &str, limits: Vec<pb::WindowLimit>) -> pb::UserLimits {
    client
        .set_user_limits(pb::SetUserLimitsRequest {
            user_id: user.to_owned(),
            limits,
            set_by: "admin-1".to_owned(),
        })
        .await
        .expect("set")
        .into_inner()
}

async fn reserve(client: &mut Client, user: &str, dollars: i64) -> pb::CheckSpendingLimitResponse {
    client
        .reserve_spend(pb::ReserveSpendRequest {
            user_id: user.to_owned(),
            amount_micros: dollars * DOLLAR,
            idempotency_key: String::new(),
        })
        .await
        .expect("answered")
        .into_inner()
}

async fn check(client: &mut Client, user: &str, dollars: i64) -> pb::CheckSpendingLimitResponse {
    client
        .check_spending_limit(pb::CheckSpendingLimitRequest {
            user_id: user.to_owned(),
            amount_micros: dollars * DOLLAR,
        })
        .await
        .expect("answered")
        .into_inner()
}

fn window<'a>(limits: &'a pb::UserLimits, label: &str) -> &'a pb::UserWindowLimit {
    limits
        .windows
        .iter()
        .find(|window| window.window == label)
        .expect("the window")
}

async fn an_override_lowers_a_limit_for_that_user_only(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let (restricted, other) = (fresh_user(), fresh_user());

    let limits = set(&mut client, &restricted, vec![limit("60min", 10)]).await;

    let hour = window(&limits, "60min");
    assert_eq!(
        (hour.limit_micros, hour.global_limit_micros, hour.overridden),
        (10 * DOLLAR, 50 * DOLLAR, true)
    );
    assert_eq!(limits.windows.len(), 17);
    assert!(!window(&limits, "1440min").overridden);
    let refused = reserve(&mut client, &restricted, 15).await;
    assert!(!refused.allowed);
    assert_eq!(refused.reason, "60min: $0.00 + $15.00 = $15.00 > $10.00 limit");
    assert!(!check(&mut client, &restricted, 15).await.allowed);
    assert!(reserve(&mut client, &restricted, 10).await.allowed);
    assert!(
        reserve(&mut client, &other, 15).await.allowed,
        "others keep the global $50"
    );
    let info = reserve(&mut client, &restricted, 1).await;
    let reported = info.spending.expect("spending");
    let hour = reported
        .windows
        .iter()
        .find(|window| window.window == "60min")
        .expect("the window");
    assert_eq!((hour.limit_micros, hour.exceeded), (10 * DOLLAR, true));
}

async fn an_override_raises_a_limit_and_zero_turns_a_window_off(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let user = fresh_user();

    set(&mut client, &user, vec![limit("60min", 0), limit("1440min", 500)]).await;

    assert!(check(&mut client, &user, 300).await.allowed);
    assert!(
        reserve(&mut client, &user, 300).await.allowed,
        "past the global $50 and $200"
    );
    let refused = reserve(&mut client, &user, 201).await;
    assert!(!refused.allowed, "the day's $500 still holds");
    assert_eq!(
        refused.reason,
        "1440min: $300.00 + $201.00 = $501.00 > $500.00 limit"
    );
    assert_eq!(spent(&mut client, &user, "60min").await, 300 * DOLLAR);
}

async fn clearing_overrides_restores_the_global_limits(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let user = fresh_user();
    set(
        &mut client,
        &user,
        vec![limit("60min", 100), limit("1440min", 1000)],
    )
    .await;
    assert!(check(&mut client, &user, 80).await.allowed);

    let partly = client
        .clear_user_limits(pb::ClearUserLimitsRequest {
            user_id: user.clone(),
            windows: vec!["60min".to_owned()],
        })
        .await
        .expect("cleared")
        .into_inner();

    assert!(!window(&partly, "60min").overridden);
    assert_eq!(window(&partly, "60min").limit_micros, 50 * DOLLAR);
    assert_eq!(window(&partly, "1440min").limit_micros, 1000 * DOLLAR);
    assert!(
        !check(&mut client, &user, 80).await.allowed,
        "the global $50 again"
    );
    let cleared = client
        .clear_user_limits(pb::ClearUserLimitsRequest {
            user_id: user.clone(),
            windows: Vec::new(),
        })
        .await
        .expect("cleared")
        .into_inner();
    assert!(cleared.windows.iter().all(|window| !window.overridden));
    let read = client
        .get_user_limits(pb::GetUserLimitsRequest { user_id: user })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(window(&read, "1440min").limit_micros, 200 * DOLLAR);
}

async fn unknown_windows_and_bad_limits_are_invalid_arguments(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let user = fresh_user();
    let cases = [
        vec![limit("2h", 10)],
        vec![limit("60min", -1)],
        vec![limit("60min", 1), limit("60min", 2)],
        Vec::new(),
    ];
    for limits in cases {
        let status = client
            .set_user_limits(pb::SetUserLimitsRequest {
                user_id: user.clone(),
                limits: limits.clone(),
                set_by: "admin-1".to_owned(),
            })
            .await
            .expect_err("refused");
        assert_eq!(code_of(&status), ErrorCode::ValidationFailed, "{limits:?}");
        assert_eq!(field_of(&status).as_deref(), Some("limits"));
    }
    let status = client
        .clear_user_limits(pb::ClearUserLimitsRequest {
            user_id: user.clone(),
            windows: vec!["weekly".to_owned()],
        })
        .await
        .expect_err("refused");
    assert_eq!(code_of(&status), ErrorCode::ValidationFailed);
    let status = client
        .reset(pb::ResetRequest {
            user_id: user.clone(),
            window: "61min".to_owned(),
        })
        .await
        .expect_err("refused");
    assert_eq!(field_of(&status).as_deref(), Some("window"));
    let untouched = client
        .get_user_limits(pb::GetUserLimitsRequest { user_id: user })
        .await
        .expect("read")
        .into_inner();
    assert!(untouched.windows.iter().all(|window| !window.overridden));
}

async fn overrides_outlive_a_restart_and_reach_other_replicas_within_the_cache_ttl(store: Store) {
    let app = spawn_app(store, &[("GUARDRAILS_LIMITS_CACHE_TTL", "200ms")]).await;
    let replica = app.replica().await;
    let (mut here, mut there) = (app.client.clone(), replica.client.clone());
    let user = fresh_user();
    assert!(
        check(&mut there, &user, 20).await.allowed,
        "the replica caches the global $50"
    );

    set(&mut here, &user, vec![limit("60min", 10)]).await;

    assert!(
        !check(&mut here, &user, 20).await.allowed,
        "at once where it was set"
    );
    let restarted = app.replica().await;
    assert!(
        !check(&mut restarted.client.clone(), &user, 20).await.allowed,
        "a restarted replica reads it from the database"
    );
    // The other replica's cached limits expire on their own clock: wait for it, boundedly.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while check(&mut there, &user, 20).await.allowed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the replica never saw the change"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn resetting_one_window_leaves_the_others(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let user = fresh_user();
    assert!(reserve(&mut client, &user, 45).await.allowed);
    // A reset keeps spending of its own millisecond (it may have come after it): step past it.
    tokio::time::sleep(Duration::from_millis(3)).await;

    let reset = client
        .reset(pb::ResetRequest {
            user_id: user.clone(),
            window: "60min".to_owned(),
        })
        .await
        .expect("reset")
        .into_inner();

    let spent_in = |label: &str| {
        reset
            .windows
            .iter()
            .find(|window| window.window == label)
            .expect("the window")
            .spent_micros
    };
    assert_eq!(
        (spent_in("60min"), spent_in("1440min"), spent_in("5min")),
        (0, 45 * DOLLAR, 45 * DOLLAR)
    );
    assert!(
        reserve(&mut client, &user, 45).await.allowed,
        "the hour has room again"
    );
    let refused = reserve(&mut client, &user, 150).await;
    assert_eq!(
        refused.reason,
        "60min: $45.00 + $150.00 = $195.00 > $50.00 limit; 1440min: $90.00 + $150.00 = $240.00 > $200.00 limit"
    );
}

async fn status_reports_the_mode_and_the_global_limits(store: Store) {
    let app = spawn_app(store, &[("GUARDRAILS_MODE", "shadow")]).await;

    let status = app
        .client
        .clone()
        .get_status(pb::GetStatusRequest {})
        .await
        .expect("status")
        .into_inner();

    assert!(status.enabled);
    assert_eq!(status.mode, "shadow");
    assert_eq!(status.limits.len(), 17);
    assert_eq!(status.limits[3], limit("60min", 50));
    assert_eq!(status.limits_cache_ttl_ms, 5000);
}

crate::on_both_stores!(
    an_override_lowers_a_limit_for_that_user_only,
    an_override_raises_a_limit_and_zero_turns_a_window_off,
    clearing_overrides_restores_the_global_limits,
    unknown_windows_and_bad_limits_are_invalid_arguments,
    overrides_outlive_a_restart_and_reach_other_replicas_within_the_cache_ttl,
    resetting_one_window_leaves_the_others,
    status_reports_the_mode_and_the_global_limits,
);
