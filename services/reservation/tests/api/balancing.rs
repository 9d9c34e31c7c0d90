//! The balancer over real running instances: strategies switched at run time, per-user rotations,
//! unhealthy instances leaving the rotation.

use gpuproxy_domain::UserId;
use std::collections::HashMap;
use std::time::Duration;

use gpuproxy_errors::{ErrorCode, ServiceError};
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;

use crate::helpers::{ALICE, BOB, Backend, Harness, MALLORY, eventually, launch};

async fn running_instances(harness: &Harness, user_id: UserId, count: i32) -> Vec<pb::Instance> {
    harness
        .service
        .reserve(pb::ReserveRequest {
            user_id: user_id.to_string(),
            count,
            filters: Some(catalog::OfferFilters::default()),
            config: Some(launch(0)),
            idempotency_key: String::new(),
        })
        .await
        .expect("reserved");
    let service = harness.service.clone();
    eventually(Duration::from_secs(10), || {
        let service = service.clone();
        async move {
            let listed = service.list_instances(user_id, false).await.expect("listed");
            (listed.len() == usize::try_from(count).unwrap_or(0)
                && listed.iter().all(|instance| instance.status == "running"))
            .then_some(listed)
        }
    })
    .await
}

async fn strategies_switch_at_run_time_and_survive_a_restart(backend: Backend) {
    let mut harness = Harness::start(backend).await;
    let instances = running_instances(&harness, ALICE, 3).await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..30 {
        let target = harness.service.pick_target(ALICE).expect("a target");
        assert_eq!(target.strategy, "round_robin");
        *counts.entry(target.instance_id.clone()).or_default() += 1;
        harness
            .service
            .report_result(&target.instance_id, true, 500, true);
    }
    assert_eq!(counts.len(), 3);
    assert!(
        counts.values().all(|count| *count == 10),
        "round robin is exact: {counts:?}"
    );
    for instance in &instances {
        assert!(counts.contains_key(&instance.instance_id));
    }

    let refused = harness
        .service
        .set_strategy(ALICE, "fastest")
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), ErrorCode::ValidationFailed);
    harness
        .service
        .set_strategy(ALICE, "least_connections")
        .await
        .expect("switched");
    // Two requests in flight on the first picks: the third goes to the idle instance.
    let first = harness.service.pick_target(ALICE).expect("a target");
    let second = harness.service.pick_target(ALICE).expect("a target");
    let third = harness.service.pick_target(ALICE).expect("a target");
    assert_eq!(third.strategy, "least_connections");
    let mut distinct = vec![first.instance_id, second.instance_id, third.instance_id];
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "least connections spreads concurrent requests");
    assert_eq!(
        harness.service.strategy(BOB).as_str(),
        "round_robin",
        "strategies are per user"
    );

    let _restarted = harness.build_app().await;
    assert_eq!(harness.service.strategy(ALICE).as_str(), "least_connections");
    let after_restart = harness
        .service
        .pick_target(ALICE)
        .expect("rotations are restored");
    assert!(
        instances
            .iter()
            .any(|instance| instance.instance_id == after_restart.instance_id)
    );
}

async fn failing_instances_leave_the_rotation_and_nothing_running_is_refused(backend: Backend) {
    let harness = Harness::start(backend).await;
    let refused = harness.service.pick_target(ALICE).expect_err("nothing running");
    assert_eq!(refused.code(), ErrorCode::NoHealthyInstance);
    let instances = running_instances(&harness, ALICE, 2).await;
    let bad = &instances[0].instance_id;
    for _ in 0..3 {
        harness.service.report_result(bad, false, 1_000, true);
    }
    for _ in 0..10 {
        let target = harness.service.pick_target(ALICE).expect("a target");
        assert_ne!(
            &target.instance_id, bad,
            "an unhealthy instance is out of the rotation"
        );
        harness
            .service
            .report_result(&target.instance_id, true, 1_000, true);
    }
    let loads = harness.service.load_info(ALICE, "").expect("loads");
    let bad_load = loads
        .server_load
        .iter()
        .find(|load| &load.instance_id == bad)
        .expect("listed");
    assert!(!bad_load.healthy);
    assert_eq!(bad_load.failed_requests, 3);
    // A probe that succeeds brings it back.
    harness.service.probe_running_instances().await;
    let loads = harness.service.load_info(ALICE, bad).expect("one load");
    assert!(
        loads.server_load[0].healthy,
        "the instance answered its health probe"
    );
    let mallory = harness.service.load_info(MALLORY, bad).expect_err("not hers");
    assert_eq!(mallory.code(), ErrorCode::NotFound);
}

crate::on_both_databases!(
    strategies_switch_at_run_time_and_survive_a_restart,
    failing_instances_leave_the_rotation_and_nothing_running_is_refused,
);
