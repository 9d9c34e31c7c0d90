//! Idle stop: an instance without traffic for its `autostop_minutes` is destroyed and announced.

use std::time::Duration;

use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;

use gpuproxy_domain::now_ms;

use crate::helpers::{ALICE, Backend, Harness, eventually, launch, next_named};

async fn an_idle_instance_is_destroyed_after_its_autostop_minutes(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut events = harness.events().await;
    let reserve = |autostop_minutes| pb::ReserveRequest {
        user_id: ALICE.to_string(),
        count: 1,
        filters: Some(catalog::OfferFilters {
            provider: "io.net".to_owned(),
            ..catalog::OfferFilters::default()
        }),
        config: Some(launch(autostop_minutes)),
        idempotency_key: String::new(),
    };
    let idle = harness
        .service
        .reserve(reserve(1))
        .await
        .expect("reserved")
        .reserved
        .remove(0);
    let forever = harness
        .service
        .reserve(reserve(0))
        .await
        .expect("reserved")
        .reserved
        .remove(0);
    let service = harness.service.clone();
    eventually(Duration::from_secs(10), || {
        let service = service.clone();
        async move {
            let listed = service.list_instances(ALICE, false).await.expect("listed");
            listed
                .iter()
                .all(|instance| instance.status == "running")
                .then_some(())
        }
    })
    .await;

    assert_eq!(
        harness
            .service
            .stop_idle_instances(now_ms() + 30_000)
            .await
            .expect("checked"),
        0
    );
    assert_eq!(
        harness
            .service
            .stop_idle_instances(now_ms() + 59_000)
            .await
            .expect("checked"),
        0
    );
    assert_eq!(
        harness
            .service
            .stop_idle_instances(now_ms() + 61_000)
            .await
            .expect("checked"),
        1
    );

    let destroyed = next_named(&mut events, names::INSTANCE_DESTROYED, Duration::from_secs(5)).await;
    assert_eq!(destroyed.data["instance_id"], idle.instance_id.as_str());
    assert_eq!(destroyed.data["user_id"], ALICE.to_string());
    assert_eq!(destroyed.data["reason"], "idle for 1 minute");
    let left = harness
        .service
        .list_instances(ALICE, false)
        .await
        .expect("listed");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].instance_id, forever.instance_id, "autostop 0 never stops");
    assert_eq!(harness.instances_at_providers(), 1);
}

crate::on_both_databases!(an_idle_instance_is_destroyed_after_its_autostop_minutes);
