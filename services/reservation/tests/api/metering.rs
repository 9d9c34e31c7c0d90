//! Money around rents: refused without credits when enforced, run time billed by the minute,
//! exactly N·P/60 for N minutes at P an hour.

use std::time::Duration;

use gpuproxy_domain::{UserId, now_ms};
use gpuproxy_errors::{ErrorCode, ServiceError};
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::guardrails::v1 as guardrails_pb;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;
use gpuproxy_provider_sim::{Faults, SimProvider};
use gpuproxy_server::GrpcChannel;

use gpuproxy_reservation::Reservations;

use crate::helpers::{Backend, CAROL, DAVE, ERIN, FRANK, Harness, eventually, launch};

const ENFORCED: &[(&str, &str)] = &[("CREDITS_ENFORCED", "true"), ("INSTANCE_POLL_INTERVAL", "100ms")];

/// What the guard rails count as `user_id`'s spending in `window` ("60min").
async fn spent(guardrails: &GuardrailsServiceClient<GrpcChannel>, user_id: UserId, window: &str) -> i64 {
    guardrails
        .clone()
        .get_spending_info(guardrails_pb::GetSpendingInfoRequest {
            user_id: user_id.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .windows
        .into_iter()
        .find(|state| state.window == window)
        .unwrap()
        .spent_micros
}

/// Follows `user_id`'s instance until it runs.
async fn until_running(service: &Reservations, user_id: UserId, provider: &str, instance_id: &str) {
    eventually(Duration::from_secs(10), || {
        let service = service.clone();
        async move {
            service.follow_starting_instances().await.unwrap();
            let found = service
                .get_instance(user_id, provider, instance_id)
                .await
                .unwrap();
            (found.status == "running").then_some(found)
        }
    })
    .await;
}

async fn an_instance_is_refused_without_credits_then_billed_by_the_minute(backend: Backend) {
    let mut harness = Harness::start_idle(backend, ENFORCED).await;
    let (billing, _guardrails, _tasks) = harness.with_spending(ENFORCED).await;
    let offer = harness
        .offers(
            catalog::OfferFilters {
                provider: "vast.ai".to_owned(),
                ..catalog::OfferFilters::default()
            },
            1,
        )
        .await
        .remove(0);
    let request = pb::CreateInstanceRequest {
        user_id: CAROL.to_string(),
        provider: offer.provider.clone(),
        offer_id: offer.offer_id.clone(),
        config: Some(launch(0)),
        idempotency_key: String::new(),
    };
    let refused = harness
        .service
        .create_instance(request.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::CreditsExhausted, "{refused}");
    assert_eq!(harness.instances_at_providers(), 0, "nothing was rented");
    let reserve = harness
        .service
        .reserve(pb::ReserveRequest {
            user_id: CAROL.to_string(),
            count: 2,
            config: Some(launch(0)),
            ..pb::ReserveRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reserve.code(), ErrorCode::CreditsExhausted, "{reserve}");

    billing
        .add_credits(CAROL, 100_000_000, "test", None)
        .await
        .unwrap();
    let created = harness.service.create_instance(request).await.unwrap();
    until_running(&harness.service, CAROL, "vast.ai", &created.instance_id).await;
    // Within a minute of running_at, so "N minutes later" is N whole minutes of run time.
    let started = now_ms();
    let price = offer.price_micros_per_hour;
    assert_eq!(
        harness.service.meter_usage(started + 7 * 60_000).await.unwrap(),
        1
    );
    assert_eq!(
        harness.service.meter_usage(started + 7 * 60_000).await.unwrap(),
        0,
        "nothing new"
    );
    assert_eq!(
        harness.service.meter_usage(started + 90 * 60_000).await.unwrap(),
        1
    );
    let (records, count, total) = billing.list_usage(CAROL, 10, 0).await.unwrap();
    assert_eq!(count, 2);
    assert_eq!(
        total,
        90 * price / 60,
        "90 minutes at {price} µ$/h, to the micro-dollar"
    );
    assert!(
        records
            .iter()
            .all(|record| record.kind == "instance" && record.instance_id == created.instance_id)
    );
    assert_eq!(
        records.iter().map(|record| record.duration_ms).sum::<i64>(),
        90 * 60_000
    );
    let credits = billing.credits(CAROL).await.unwrap();
    assert_eq!(credits.balance_micros, 100_000_000 - 90 * price / 60);
}

/// Two reservations race for credits that cover one: the hold makes exactly one pass. Metering
/// under the hold takes from it, and the guard rails, which reserved the hour at admission, do not
/// count the metered minutes again.
async fn racing_rents_share_the_credits_once_and_metering_under_the_hold_counts_once(backend: Backend) {
    let mut harness = Harness::start_idle(backend, ENFORCED).await;
    let (billing, guardrails, _tasks) = harness.with_spending(ENFORCED).await;
    let (filters, credits) = market_for_one_of_two(&harness).await;
    billing.add_credits(DAVE, credits, "test", None).await.unwrap();
    let reserve = || {
        let service = harness.service.clone();
        let filters = filters.clone();
        async move {
            service
                .reserve(pb::ReserveRequest {
                    user_id: DAVE.to_string(),
                    count: 2,
                    filters: Some(filters),
                    config: Some(launch(0)),
                    ..pb::ReserveRequest::default()
                })
                .await
        }
    };
    let (first, second) = tokio::join!(reserve(), reserve());
    let (reserved, refused) = match (first, second) {
        (Ok(reserved), Err(refused)) | (Err(refused), Ok(reserved)) => (reserved, refused),
        (first, second) => panic!("exactly one reservation fits: {first:?} {second:?}"),
    };
    assert_eq!(refused.code(), ErrorCode::CreditsExhausted, "{refused}");
    assert_eq!(reserved.reserved.len(), 2);
    assert_eq!(
        harness.instances_at_providers(),
        2,
        "the refused one rented nothing"
    );
    let rented: i64 = reserved
        .reserved
        .iter()
        .map(|instance| instance.price_micros_per_hour)
        .sum();
    let account = billing.credits(DAVE).await.unwrap();
    assert_eq!(account.held_micros, rented, "an hour of what was rented is held");

    let service = harness.service.clone();
    eventually(Duration::from_secs(10), || {
        let service = service.clone();
        async move {
            service.follow_starting_instances().await.unwrap();
            let listed = service.list_instances(DAVE, false).await.unwrap();
            listed
                .iter()
                .all(|instance| instance.status == "running")
                .then_some(())
        }
    })
    .await;
    let started = now_ms();
    assert_eq!(
        harness.service.meter_usage(started + 30 * 60_000).await.unwrap(),
        2
    );
    let (_, _, metered) = billing.list_usage(DAVE, 10, 0).await.unwrap();
    assert!(metered > 0);
    let account = billing.credits(DAVE).await.unwrap();
    assert_eq!(
        (account.balance_micros, account.held_micros),
        (credits - metered, rented - metered),
        "the minutes came out of the hold"
    );
    assert_eq!(
        spent(&guardrails, DAVE, "1440min").await,
        rented,
        "the hour reserved at admission, not the minutes again (metered {metered})"
    );
}

/// Slots that fail give their part of the admission back: the guard rails and the credit hold
/// keep an hour of what was rented, not of what was asked for.
async fn failed_rents_give_their_admission_back_to_the_guard_rails_and_the_credits(backend: Backend) {
    let extra = [ENFORCED, &[("RESERVE_ATTEMPTS_PER_SLOT", "1")]].concat();
    let mut harness = Harness::start_idle(backend, &extra).await;
    let (billing, guardrails, _tasks) = harness.with_spending(&extra).await;
    billing
        .add_credits(ERIN, 1_000_000_000, "test", None)
        .await
        .unwrap();
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            vanish_before_create: true,
            ..Faults::default()
        },
    );
    let done = harness
        .service
        .reserve(pb::ReserveRequest {
            user_id: ERIN.to_string(),
            count: 4,
            filters: Some(catalog::OfferFilters::default()),
            config: Some(launch(0)),
            ..pb::ReserveRequest::default()
        })
        .await
        .expect("partly reserved");
    assert_eq!(
        (done.reserved.len(), done.errors.len()),
        (2, 2),
        "{:?}",
        done.errors
    );
    let rented: i64 = done
        .reserved
        .iter()
        .map(|instance| instance.price_micros_per_hour)
        .sum();
    assert_eq!(
        spent(&guardrails, ERIN, "60min").await,
        rented,
        "the failed slots' hour was given back"
    );
    let account = billing.credits(ERIN).await.unwrap();
    assert_eq!(account.held_micros, rented);
}

/// An instance destroyed within its first hour gives what its hold had left back to the credits
/// and the guard rails: afterwards both count what was metered, not the hour admitted.
async fn an_instance_ended_early_gives_its_unused_hour_back(backend: Backend) {
    let mut harness = Harness::start_idle(backend, ENFORCED).await;
    let (billing, guardrails, _tasks) = harness.with_spending(ENFORCED).await;
    billing
        .add_credits(FRANK, 1_000_000_000, "test", None)
        .await
        .unwrap();
    let offer = harness
        .offers(
            catalog::OfferFilters {
                provider: "io.net".to_owned(),
                ..catalog::OfferFilters::default()
            },
            1,
        )
        .await
        .remove(0);
    let created = harness
        .service
        .create_instance(pb::CreateInstanceRequest {
            user_id: FRANK.to_string(),
            provider: offer.provider.clone(),
            offer_id: offer.offer_id.clone(),
            config: Some(launch(0)),
            idempotency_key: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(
        spent(&guardrails, FRANK, "60min").await,
        offer.price_micros_per_hour,
        "the hour, at admission"
    );
    until_running(&harness.service, FRANK, "io.net", &created.instance_id).await;
    harness.service.meter_usage(now_ms() + 10 * 60_000).await.unwrap();
    harness
        .service
        .destroy_instance(FRANK, "io.net", &created.instance_id)
        .await
        .unwrap();
    let (_, _, metered) = billing.list_usage(FRANK, 10, 0).await.unwrap();
    assert!(metered > 0 && metered < offer.price_micros_per_hour, "{metered}");
    assert_eq!(
        spent(&guardrails, FRANK, "60min").await,
        metered,
        "what was metered, not the hour"
    );
    let account = billing.credits(FRANK).await.unwrap();
    assert_eq!(account.held_micros, 0);
}

/// Filters whose offers make any reservation of two cost between `c` and `2p`, with `2c > 2p`, and
/// credits of `2p`: whatever two offers the strategy picks, one reservation fits and two never do.
async fn market_for_one_of_two(harness: &Harness) -> (catalog::OfferFilters, i64) {
    let offers = harness.offers(catalog::OfferFilters::default(), 500).await;
    let mut groups: std::collections::BTreeMap<(String, String), Vec<i64>> =
        std::collections::BTreeMap::new();
    for offer in &offers {
        groups
            .entry((offer.provider.clone(), offer.gpu_model.clone()))
            .or_default()
            .push(offer.price_micros_per_hour);
    }
    for ((provider, gpu_model), mut prices) in groups {
        prices.sort_unstable();
        for &top in prices.iter().skip(3) {
            let cheapest = prices[0] + prices[1];
            if 2 * cheapest > 2 * top {
                let filters = catalog::OfferFilters {
                    provider,
                    gpu_model,
                    max_price_micros_per_hour: top,
                    ..catalog::OfferFilters::default()
                };
                return (filters, 2 * top);
            }
        }
    }
    panic!("the simulator's market has no model with four offers within a third of each other")
}

crate::on_both_databases!(
    an_instance_is_refused_without_credits_then_billed_by_the_minute,
    racing_rents_share_the_credits_once_and_metering_under_the_hold_counts_once,
    failed_rents_give_their_admission_back_to_the_guard_rails_and_the_credits,
    an_instance_ended_early_gives_its_unused_hour_back
);
