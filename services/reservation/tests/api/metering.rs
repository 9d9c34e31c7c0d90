//! Money around rents: refused without credits when enforced, run time billed by the minute,
//! exactly N·P/60 for N minutes at P an hour.

use std::time::Duration;

use gpuproxy_errors::{ErrorCode, ServiceError};
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;

use crate::helpers::{Backend, Harness, eventually, launch};

const ENFORCED: &[(&str, &str)] = &[("CREDITS_ENFORCED", "true"), ("INSTANCE_POLL_INTERVAL", "100ms")];

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

async fn an_instance_is_refused_without_credits_then_billed_by_the_minute(backend: Backend) {
    let mut harness = Harness::start_idle(backend, ENFORCED).await;
    let (billing, _tasks) = harness.with_spending(ENFORCED).await;
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
        user_id: "carol".to_owned(),
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
            user_id: "carol".to_owned(),
            count: 2,
            config: Some(launch(0)),
            ..pb::ReserveRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reserve.code(), ErrorCode::CreditsExhausted, "{reserve}");

    billing
        .add_credits("carol", 100_000_000, "test", None)
        .await
        .unwrap();
    let created = harness.service.create_instance(request).await.unwrap();
    let service = harness.service.clone();
    eventually(Duration::from_secs(10), || {
        let service = service.clone();
        let id = created.instance_id.clone();
        async move {
            service.follow_starting_instances().await.unwrap();
            let found = service.get_instance("carol", "vast.ai", &id).await.unwrap();
            (found.status == "running").then_some(found)
        }
    })
    .await;
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
    let (records, count, total) = billing.list_usage("carol", 10, 0).await.unwrap();
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
    let credits = billing.credits("carol").await.unwrap();
    assert_eq!(credits.balance_micros, 100_000_000 - 90 * price / 60);
}

crate::on_both_databases!(an_instance_is_refused_without_credits_then_billed_by_the_minute);
