//! Limits hold under concurrency, slide, report violations, warn, reset and stay idempotent.

use gpuproxy_errors::{ErrorCode, code_of, field_of};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::guardrails::v1 as pb;

use crate::helpers::{Store, fresh_user, spawn_app, spent};

const DOLLAR: i64 = 1_000_000;

fn window<'a>(info: &'a pb::SpendingInfo, label: &str) -> &'a pb::SpendingWindow {
    info.windows
        .iter()
        .find(|window| window.window == label)
        .expect("the window")
}

async fn concurrent_spends_never_pass_a_window_limit(store: Store) {
    let app = spawn_app(store, &[]).await;
    let user = fresh_user();
    let mut spends = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let mut client = app.client.clone();
        let user = user.clone();
        spends.spawn(async move {
            client
                .reserve_spend(pb::ReserveSpendRequest {
                    user_id: user,
                    amount_micros: DOLLAR,
                    idempotency_key: String::new(),
                })
                .await
                .expect("answered")
                .into_inner()
                .allowed
        });
    }
    let allowed = spends
        .join_all()
        .await
        .into_iter()
        .filter(|allowed| *allowed)
        .count();
    assert_eq!(allowed, 50, "exactly the spends that fit under $50");
    let info = app
        .client
        .clone()
        .get_spending_info(pb::GetSpendingInfoRequest { user_id: user })
        .await
        .expect("info")
        .into_inner();
    let hour = window(&info, "60min");
    assert_eq!(
        (hour.spent_micros, hour.limit_micros, hour.remaining_micros),
        (50 * DOLLAR, 50 * DOLLAR, 0)
    );
    assert!(hour.exceeded);
    assert_eq!(info.windows.len(), 17);
    assert_eq!(info.total_spent_24h_micros, 50 * DOLLAR);
}

async fn a_refusal_names_each_window_it_would_pass(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let user = fresh_user();
    let mut exceeded = app
        .bus
        .subscribe(names::GUARDRAILS_EXCEEDED)
        .await
        .expect("subscribed");
    client
        .record_spending(pb::RecordSpendingRequest {
            user_id: user.clone(),
            amount_micros: 45 * DOLLAR,
            idempotency_key: String::new(),
        })
        .await
        .expect("recorded");
    let check = client
        .check_spending_limit(pb::CheckSpendingLimitRequest {
            user_id: user.clone(),
            amount_micros: 25 * DOLLAR,
        })
        .await
        .expect("checked")
        .into_inner();
    assert!(!check.allowed);
    assert_eq!(check.reason, "60min: $45.00 + $25.00 = $70.00 > $50.00 limit");
    assert_eq!(check.would_exceed.len(), 1);
    let refused = client
        .reserve_spend(pb::ReserveSpendRequest {
            user_id: user.clone(),
            amount_micros: 25 * DOLLAR,
            idempotency_key: String::new(),
        })
        .await
        .expect("answered")
        .into_inner();
    assert!(!refused.allowed);
    let event = tokio::time::timeout(std::time::Duration::from_secs(2), exceeded.next_event())
        .await
        .expect("in time")
        .expect("an event");
    assert_eq!(event.data["user_id"], user.as_str());
    assert_eq!(event.data["enforced"], true);
    let info = client
        .get_spending_info(pb::GetSpendingInfoRequest {
            user_id: user.clone(),
        })
        .await
        .expect("info")
        .into_inner();
    assert_eq!(
        window(&info, "60min").spent_micros,
        45 * DOLLAR,
        "a refused spend is not counted"
    );
    let reset = client
        .reset(pb::ResetRequest {
            user_id: user,
            window: String::new(),
        })
        .await
        .expect("reset")
        .into_inner();
    assert!(reset.windows.iter().all(|window| window.spent_micros == 0));
}

async fn shadow_mode_lets_spending_through_and_reports_it(store: Store) {
    let app = spawn_app(store, &[("GUARDRAILS_MODE", "shadow")]).await;
    let mut client = app.client.clone();
    let user = fresh_user();
    let mut exceeded = app
        .bus
        .subscribe(names::GUARDRAILS_EXCEEDED)
        .await
        .expect("subscribed");
    let spent = client
        .reserve_spend(pb::ReserveSpendRequest {
            user_id: user.clone(),
            amount_micros: 60 * DOLLAR,
            idempotency_key: String::new(),
        })
        .await
        .expect("answered")
        .into_inner();
    assert!(spent.allowed);
    assert!(
        spent.reason.starts_with("60min: $0.00 + $60.00"),
        "{}",
        spent.reason
    );
    let event = tokio::time::timeout(std::time::Duration::from_secs(2), exceeded.next_event())
        .await
        .expect("in time")
        .expect("an event");
    assert_eq!(event.data["enforced"], false);
}

async fn crossing_eighty_percent_warns_once(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let user = fresh_user();
    let mut warnings = app
        .bus
        .subscribe(names::GUARDRAILS_WARNING)
        .await
        .expect("subscribed");
    for amount in [30, 11, 1] {
        client
            .reserve_spend(pb::ReserveSpendRequest {
                user_id: user.clone(),
                amount_micros: amount * DOLLAR,
                idempotency_key: String::new(),
            })
            .await
            .expect("allowed");
    }
    let event = tokio::time::timeout(std::time::Duration::from_secs(2), warnings.next_event())
        .await
        .expect("in time")
        .expect("an event");
    assert_eq!(
        (event.data["window"].as_str(), event.data["spent_micros"].as_i64()),
        (Some("60min"), Some(41 * DOLLAR))
    );
    let again = tokio::time::timeout(std::time::Duration::from_millis(300), warnings.next_event()).await;
    assert!(again.is_err(), "no second warning for the same window: {again:?}");
}

async fn a_retried_spend_with_one_key_counts_once(store: Store) {
    let app = spawn_app(store, &[]).await;
    let user = fresh_user();
    // Retries that race each other, as a client timing out and retrying at once sends them.
    let mut retries = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let mut client = app.client.clone();
        let user = user.clone();
        retries.spawn(async move {
            client
                .reserve_spend(pb::ReserveSpendRequest {
                    user_id: user,
                    amount_micros: 10 * DOLLAR,
                    idempotency_key: "request-7".to_owned(),
                })
                .await
                .expect("answered")
                .into_inner()
                .allowed
        });
    }
    assert!(retries.join_all().await.into_iter().all(|allowed| allowed));
    let mut client = app.client.clone();
    assert_eq!(spent(&mut client, &user, "60min").await, 10 * DOLLAR);

    // A refused spend stays refused under its key, even after room is made.
    let refused = |key: &'static str| pb::ReserveSpendRequest {
        user_id: user.clone(),
        amount_micros: 45 * DOLLAR,
        idempotency_key: key.to_owned(),
    };
    assert!(
        !client
            .reserve_spend(refused("big-1"))
            .await
            .expect("answered")
            .into_inner()
            .allowed
    );
    client
        .reset(pb::ResetRequest {
            user_id: user.clone(),
            window: String::new(),
        })
        .await
        .expect("reset");
    assert!(
        !client
            .reserve_spend(refused("big-1"))
            .await
            .expect("answered")
            .into_inner()
            .allowed
    );
    assert!(
        client
            .reserve_spend(refused("big-2"))
            .await
            .expect("answered")
            .into_inner()
            .allowed
    );
}

async fn a_released_reservation_gives_its_room_back_once(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let user = fresh_user();
    let reserve = |key: &str| pb::ReserveSpendRequest {
        user_id: user.clone(),
        amount_micros: 30 * DOLLAR,
        idempotency_key: key.to_owned(),
    };
    let release = |amount: i64| pb::ReleaseSpendRequest {
        user_id: user.clone(),
        idempotency_key: "hold:rent-1".to_owned(),
        amount_micros: amount,
    };
    let reserved = client
        .reserve_spend(reserve("hold:rent-1"))
        .await
        .expect("answered");
    assert!(reserved.into_inner().allowed);
    let refused = client
        .reserve_spend(reserve("hold:rent-2"))
        .await
        .expect("answered");
    assert!(!refused.into_inner().allowed, "$60 would pass the $50 hour");

    // The first rent failed: its reservation comes back, in part and then whole.
    let part = client
        .release_spend(release(10 * DOLLAR))
        .await
        .expect("released")
        .into_inner();
    assert_eq!(part.released_micros, 10 * DOLLAR);
    let spending = part.spending.expect("spending");
    assert_eq!(window(&spending, "60min").spent_micros, 20 * DOLLAR);
    assert_eq!(window(&spending, "1440min").spent_micros, 20 * DOLLAR);
    let rest = client
        .release_spend(release(0))
        .await
        .expect("released")
        .into_inner();
    assert_eq!(rest.released_micros, 20 * DOLLAR);
    assert_eq!(window(&rest.spending.expect("spending"), "60min").spent_micros, 0);
    let again = client
        .release_spend(release(0))
        .await
        .expect("released")
        .into_inner();
    assert_eq!(again.released_micros, 0, "never more than was reserved");
    let unknown = pb::ReleaseSpendRequest {
        idempotency_key: "hold:never-reserved".to_owned(),
        ..release(0)
    };
    let unknown = client
        .release_spend(unknown)
        .await
        .expect("released")
        .into_inner();
    assert_eq!(unknown.released_micros, 0);

    // The room is back for the next rent.
    let next = client
        .reserve_spend(reserve("hold:rent-3"))
        .await
        .expect("answered");
    assert!(next.into_inner().allowed);
    assert_eq!(spent(&mut client, &user, "60min").await, 30 * DOLLAR);

    for (request, field) in [
        (
            pb::ReleaseSpendRequest {
                idempotency_key: String::new(),
                ..release(0)
            },
            "idempotency_key",
        ),
        (release(-DOLLAR), "amount"),
        (
            pb::ReleaseSpendRequest {
                user_id: String::new(),
                ..release(0)
            },
            "user_id",
        ),
    ] {
        let status = client.release_spend(request).await.expect_err("refused");
        assert_eq!(code_of(&status), ErrorCode::ValidationFailed);
        assert_eq!(field_of(&status).as_deref(), Some(field));
    }
}

async fn bad_amounts_and_users_are_invalid_arguments(store: Store) {
    let app = spawn_app(store, &[]).await;
    let mut client = app.client.clone();
    let someone = fresh_user();
    for (user, amount, field) in [
        (someone.as_str(), 0, "amount"),
        (someone.as_str(), -5, "amount"),
        ("", DOLLAR, "user_id"),
        ("user-1", DOLLAR, "user_id"),
    ] {
        let status = client
            .reserve_spend(pb::ReserveSpendRequest {
                user_id: user.to_owned(),
                amount_micros: amount,
                idempotency_key: String::new(),
            })
            .await
            .expect_err("refused");
        assert_eq!(code_of(&status), ErrorCode::ValidationFailed);
        assert_eq!(field_of(&status).as_deref(), Some(field));
    }
}

crate::on_both_stores!(
    concurrent_spends_never_pass_a_window_limit,
    a_refusal_names_each_window_it_would_pass,
    shadow_mode_lets_spending_through_and_reports_it,
    crossing_eighty_percent_warns_once,
    a_retried_spend_with_one_key_counts_once,
    a_released_reservation_gives_its_room_back_once,
    bad_amounts_and_users_are_invalid_arguments,
);
