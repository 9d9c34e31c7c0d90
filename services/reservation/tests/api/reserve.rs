//! Reserving many GPUs: bounds, fallback to the next offer, partial success, idempotency, events.

use gpuproxy_domain::UserId;
use std::time::Duration;

use gpuproxy_errors::{ErrorCode, ServiceError};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;
use gpuproxy_provider_sim::{Faults, SimProvider};

use crate::helpers::{ALICE, BOB, Backend, Harness, launch, next_named};

fn reserve(user_id: UserId, count: i32) -> pb::ReserveRequest {
    pb::ReserveRequest {
        user_id: user_id.to_string(),
        count,
        filters: Some(catalog::OfferFilters::default()),
        config: Some(launch(0)),
        idempotency_key: String::new(),
    }
}

async fn counts_outside_one_to_sixteen_are_refused_before_anything_is_rented(backend: Backend) {
    let harness = Harness::start(backend).await;
    for count in [0, 17, -1] {
        let refused = harness
            .service
            .reserve(reserve(ALICE, count))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), ErrorCode::ValidationFailed);
        assert_eq!(tonic::Status::from(refused).code(), tonic::Code::InvalidArgument);
    }
    assert_eq!(harness.instances_at_providers(), 0);
}

async fn fewer_matching_offers_than_asked_is_refused_before_anything_is_rented(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut request = reserve(ALICE, 16);
    request.filters = Some(catalog::OfferFilters {
        gpu_model: "H200".to_owned(),
        max_price_micros_per_hour: 10_000,
        ..catalog::OfferFilters::default()
    });
    let refused = harness.service.reserve(request).await.expect_err("refused");
    assert_eq!(refused.code(), ErrorCode::InsufficientOffers);
    assert_eq!(
        tonic::Status::from(refused).code(),
        tonic::Code::FailedPrecondition
    );
    assert_eq!(harness.instances_at_providers(), 0);
}

async fn sixteen_are_reserved_across_both_providers(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut events = harness.events().await;
    let done = harness
        .service
        .reserve(reserve(ALICE, 16))
        .await
        .expect("reserved");
    assert_eq!((done.reserved.len(), done.requested), (16, 16));
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    for provider in ["vast.ai", "io.net"] {
        assert!(
            done.reserved.iter().any(|instance| instance.provider == provider),
            "{provider} used"
        );
    }
    assert_eq!(harness.instances_at_providers(), 16);
    let created = next_named(&mut events, names::RESERVATION_CREATED, Duration::from_secs(5)).await;
    assert_eq!(created.data["reserved"], 16);
    assert_eq!(created.data["reservation_id"], done.reservation_id.as_str());
    assert_eq!(created.data["user_id"], ALICE.to_string());

    let released = harness
        .service
        .release(ALICE, &done.reservation_id)
        .await
        .expect("released");
    assert_eq!(released, 16);
    assert_eq!(harness.instances_at_providers(), 0);
}

async fn a_failing_provider_is_replaced_by_the_other_one_slot_by_slot(backend: Backend) {
    let harness = Harness::start(backend).await;
    harness.offers(catalog::OfferFilters::default(), 10).await;
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            vanish_before_create: true,
            ..Faults::default()
        },
    );
    let done = harness
        .service
        .reserve(reserve(ALICE, 16))
        .await
        .expect("reserved");
    assert_eq!(done.reserved.len(), 16, "{:?}", done.errors);
    assert!(done.errors.is_empty(), "{:?}", done.errors);
    assert!(done.reserved.iter().all(|instance| instance.provider == "io.net"));
    assert_eq!(harness.sim.instance_count(SimProvider::VastAi), 0);
    assert_eq!(harness.sim.instance_count(SimProvider::IoNet), 16);
}

async fn a_rate_limited_provider_is_replaced_because_it_surely_rented_nothing(backend: Backend) {
    let harness = Harness::start(backend).await;
    harness.offers(catalog::OfferFilters::default(), 10).await;
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            rate_limit_next: 100_000,
            ..Faults::default()
        },
    );
    let done = harness
        .service
        .reserve(reserve(ALICE, 6))
        .await
        .expect("reserved");
    assert_eq!(done.reserved.len(), 6, "{:?}", done.errors);
    assert!(done.reserved.iter().all(|instance| instance.provider == "io.net"));
    assert_eq!(harness.sim.instance_count(SimProvider::VastAi), 0);
    let listed = harness.service.list_instances(ALICE, true).await.expect("listed");
    assert!(
        listed.iter().all(|instance| instance.status != "creating"),
        "a 429 leaves nothing for the reconciler to settle: {listed:?}"
    );
}

async fn slots_that_run_out_of_attempts_are_reported_and_the_rest_is_kept(backend: Backend) {
    let harness = Harness::start_with(backend, &[("RESERVE_ATTEMPTS_PER_SLOT", "1")]).await;
    harness.offers(catalog::OfferFilters::default(), 10).await;
    let mut events = harness.events().await;
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            vanish_before_create: true,
            ..Faults::default()
        },
    );
    let done = harness
        .service
        .reserve(reserve(ALICE, 16))
        .await
        .expect("partly reserved");
    // Offers alternate between the providers, so every vast.ai slot fails on its one attempt.
    assert_eq!(done.reserved.len(), 8, "{:?}", done.errors);
    assert_eq!(done.errors.len(), 8);
    for line in &done.errors {
        assert!(line.starts_with("slot "), "{line}");
        assert!(line.contains("(vast.ai)"), "{line}");
    }
    assert_eq!(harness.instances_at_providers(), 8);
    let partial = next_named(&mut events, names::RESERVATION_PARTIAL, Duration::from_secs(5)).await;
    assert_eq!(
        (
            partial.data["reserved"].as_i64(),
            partial.data["requested"].as_i64()
        ),
        (Some(8), Some(16))
    );
    assert_eq!(partial.data["errors"].as_array().map(Vec::len), Some(8));
    let listed = harness.service.list_reservations(ALICE).await.expect("listed");
    assert_eq!(
        listed[0].errors.len(),
        8,
        "the errors are kept with the reservation"
    );
}

async fn a_reservation_retried_with_its_key_rents_once(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut request = reserve(ALICE, 3);
    request.idempotency_key = "batch-7".to_owned();
    let first = harness.service.reserve(request.clone()).await.expect("reserved");
    let again = harness
        .service
        .reserve(request.clone())
        .await
        .expect("answered again");
    assert_eq!(first.reservation_id, again.reservation_id);
    assert_eq!(again.reserved.len(), 3);
    assert_eq!(harness.instances_at_providers(), 3);
    let other_user = harness
        .service
        .reserve(pb::ReserveRequest {
            user_id: BOB.to_string(),
            ..request
        })
        .await
        .expect("bob's own reservation");
    assert_ne!(
        other_user.reservation_id, first.reservation_id,
        "keys are per user"
    );
}

crate::on_both_databases!(
    counts_outside_one_to_sixteen_are_refused_before_anything_is_rented,
    fewer_matching_offers_than_asked_is_refused_before_anything_is_rented,
    sixteen_are_reserved_across_both_providers,
    a_failing_provider_is_replaced_by_the_other_one_slot_by_slot,
    a_rate_limited_provider_is_replaced_because_it_surely_rented_nothing,
    slots_that_run_out_of_attempts_are_reported_and_the_rest_is_kept,
    a_reservation_retried_with_its_key_rents_once,
);
