//! Deliveries: signed, once per event, only to whom they concern, retried, dead-lettered.

use std::time::Duration;

use axum::http::StatusCode;
use gpuproxy_proto::gpuproxy::webhooks::v1 as pb;

use crate::helpers::{Backend, Harness, SECRET, fresh_user, instance_created};
use crate::on_both_databases;
use gpuproxy_testkit::{HookReceiver as Receiver, verify_signature as verify};

on_both_databases!(
    a_delivery_is_signed_so_an_independent_receiver_can_verify_it,
    users_receive_only_their_own_events_and_admins_may_receive_everyones,
    an_event_seen_twice_is_delivered_once,
    a_receiver_down_for_a_while_gets_the_event_when_it_is_back,
    gone_receivers_are_dead_lettered_at_once_and_can_be_redelivered,
    failures_are_retried_until_the_attempts_run_out,
    a_slow_receiver_does_not_delay_the_others,
);

async fn a_delivery_is_signed_so_an_independent_receiver_can_verify_it(backend: Backend) {
    let harness = Harness::start(backend).await;
    let receiver = Receiver::start().await;
    let user = fresh_user();
    let subscription = harness
        .subscribe(&user, &receiver.url, &["instance.created", "instance.destroyed"])
        .await;
    assert_eq!(subscription.secret, SECRET, "the secret is shown at creation");
    let event = instance_created(&user, "vast-12345");
    harness.publish(&event).await;

    let request = receiver.wait_for(1, Duration::from_secs(5)).await.remove(0);
    verify(&request, SECRET, Duration::from_secs(300)).expect("both signatures verify");
    assert!(
        verify(&request, "another-secret-entirely", Duration::from_secs(300)).is_err(),
        "a receiver with another secret refuses it"
    );
    let body = request.json();
    assert_eq!(body["event"], "instance.created");
    assert_eq!(body["id"], event.id.to_string());
    assert_eq!(body["data"]["instance_id"], "vast-12345");
    assert_eq!(body["data"]["gpu_model"], "RTX 4090");
    assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());
    assert_eq!(request.header("x-gpuproxy-event"), "instance.created");
    assert_eq!(request.header("x-gpuproxy-event-id"), event.id.to_string());
    assert_eq!(request.header("content-type"), "application/json");

    let delivery = harness
        .wait_for_status(&user, &subscription.id, "delivered")
        .await;
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.last_status, 200);
    assert_eq!(delivery.event_id, event.id.to_string());
    assert_eq!(request.header("x-gpuproxy-delivery"), delivery.id);
    let listed = harness
        .client
        .clone()
        .list_subscriptions(pb::ListSubscriptionsRequest {
            user_id: user.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .subscriptions;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].delivered, 1);
    assert!(listed[0].secret.is_empty(), "listing never shows the secret");
}

async fn users_receive_only_their_own_events_and_admins_may_receive_everyones(backend: Backend) {
    let harness = Harness::start(backend).await;
    let (alice_hook, bob_hook, admin_hook) = (
        Receiver::start().await,
        Receiver::start().await,
        Receiver::start().await,
    );
    let (alice, bob, admin) = (fresh_user(), fresh_user(), fresh_user());
    harness.subscribe(&alice, &alice_hook.url, &["instance.*"]).await;
    harness.subscribe(&bob, &bob_hook.url, &["instance.*"]).await;
    let refused = harness
        .client
        .clone()
        .create_subscription(pb::CreateSubscriptionRequest {
            user_id: bob.clone(),
            url: bob_hook.url.clone(),
            all_users: true,
            secret: SECRET.to_owned(),
            ..Default::default()
        })
        .await
        .expect_err("not an admin");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    harness
        .client
        .clone()
        .create_subscription(pb::CreateSubscriptionRequest {
            user_id: admin.clone(),
            is_admin: true,
            url: admin_hook.url.clone(),
            events: vec!["instance.created".to_owned()],
            all_users: true,
            secret: SECRET.to_owned(),
            ..Default::default()
        })
        .await
        .expect("admins may");

    for number in 0..3 {
        harness
            .publish(&instance_created(&alice, &format!("alice-{number}")))
            .await;
    }
    harness.publish(&instance_created(&bob, "bob-0")).await;

    let alices = alice_hook.wait_for(3, Duration::from_secs(5)).await;
    let bobs = bob_hook.wait_for(1, Duration::from_secs(5)).await;
    admin_hook.wait_for(4, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        alices
            .iter()
            .all(|request| request.json()["data"]["user_id"] == alice.as_str())
    );
    assert_eq!(alice_hook.received().len(), 3);
    assert_eq!(bob_hook.received().len(), 1, "bob never gets alice's events");
    assert_eq!(bobs[0].json()["data"]["instance_id"], "bob-0");
    assert_eq!(admin_hook.received().len(), 4);
}

async fn an_event_seen_twice_is_delivered_once(backend: Backend) {
    let harness = Harness::start(backend).await;
    let receiver = Receiver::start().await;
    let user = fresh_user();
    let subscription = harness.subscribe(&user, &receiver.url, &[]).await;
    let event = instance_created(&user, "twice");
    harness.publish(&event).await;
    harness.publish(&event).await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    harness
        .wait_for_status(&user, &subscription.id, "delivered")
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "one event id, one delivery");
}

async fn a_receiver_down_for_a_while_gets_the_event_when_it_is_back(backend: Backend) {
    let harness = Harness::start_with(
        backend,
        gpuproxy_events::EventBus::in_process(),
        &[("WEBHOOK_MAX_ATTEMPTS", "50")],
    )
    .await;
    let down = Receiver::start_down().await;
    let user = fresh_user();
    let subscription = harness.subscribe(&user, &down.url, &["instance.created"]).await;
    harness.publish(&instance_created(&user, "while-down")).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let deliveries = harness.deliveries(&user, &subscription.id).await;
        if deliveries.first().is_some_and(|delivery| delivery.attempts >= 2) {
            assert_eq!(deliveries[0].status, "pending", "still being retried");
            assert!(!deliveries[0].last_error.is_empty());
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "two failed attempts within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let receiver = down.bring_up().await;
    let request = receiver.wait_for(1, Duration::from_secs(5)).await.remove(0);
    assert_eq!(request.json()["data"]["instance_id"], "while-down");
    let delivery = harness
        .wait_for_status(&user, &subscription.id, "delivered")
        .await;
    assert!(delivery.attempts >= 3, "{delivery:?}");
}

async fn gone_receivers_are_dead_lettered_at_once_and_can_be_redelivered(backend: Backend) {
    let harness = Harness::start(backend).await;
    for gone in [StatusCode::GONE, StatusCode::NOT_FOUND] {
        let receiver = Receiver::start().await;
        receiver.answer(gone);
        let user = fresh_user();
        let subscription = harness
            .subscribe(&user, &receiver.url, &["instance.created"])
            .await;
        harness.publish(&instance_created(&user, "gone")).await;
        let dead = harness.wait_for_status(&user, &subscription.id, "dead").await;
        assert_eq!(dead.attempts, 1, "{gone} is not retried");
        assert_eq!(dead.last_status, i32::from(gone.as_u16()));

        receiver.answer(StatusCode::OK);
        let again = harness
            .client
            .clone()
            .redeliver_delivery(pb::RedeliverDeliveryRequest {
                user_id: user.clone(),
                subscription_id: subscription.id.clone(),
                delivery_id: dead.id.clone(),
            })
            .await
            .expect("a dead delivery can be sent again")
            .into_inner();
        assert_eq!(again.status, "pending");
        harness
            .wait_for_status(&user, &subscription.id, "delivered")
            .await;
        assert_eq!(receiver.received().len(), 2);
    }
}

async fn failures_are_retried_until_the_attempts_run_out(backend: Backend) {
    let harness = Harness::start(backend).await;
    let receiver = Receiver::start().await;
    receiver.answer(StatusCode::SERVICE_UNAVAILABLE);
    let user = fresh_user();
    let subscription = harness
        .subscribe(&user, &receiver.url, &["instance.created"])
        .await;
    harness.publish(&instance_created(&user, "unlucky")).await;
    let dead = harness.wait_for_status(&user, &subscription.id, "dead").await;
    assert_eq!(dead.attempts, 4, "WEBHOOK_MAX_ATTEMPTS");
    assert!(
        dead.last_error.contains("gave up after 4 attempts"),
        "{}",
        dead.last_error
    );
    let received = receiver.received();
    assert_eq!(received.len(), 4);
    let ids: std::collections::HashSet<&str> = received
        .iter()
        .map(|request| request.header("x-gpuproxy-event-id"))
        .collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same event id");
}

async fn a_slow_receiver_does_not_delay_the_others(backend: Backend) {
    let harness = Harness::start_with(
        backend,
        gpuproxy_events::EventBus::in_process(),
        &[
            ("WEBHOOK_TIMEOUT", "20s"),
            ("WEBHOOK_CONCURRENCY", "8"),
            ("WEBHOOK_PER_RECEIVER_CONCURRENCY", "2"),
        ],
    )
    .await;
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.delay(Duration::from_secs(15));
    let user = fresh_user();
    harness.subscribe(&user, &slow.url, &["instance.created"]).await;
    harness.subscribe(&user, &fast.url, &["instance.created"]).await;
    let started = tokio::time::Instant::now();
    for number in 0..20 {
        harness
            .publish(&instance_created(&user, &format!("i-{number}")))
            .await;
    }
    fast.wait_for(20, Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        slow.received().is_empty(),
        "the slow receiver is still on its first requests"
    );
}
