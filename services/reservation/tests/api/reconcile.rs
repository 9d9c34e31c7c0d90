//! Reconciling records with the providers: orphans destroyed, foreign instances untouched,
//! instances lost at the provider ended.

use std::time::Duration;

use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;

use crate::helpers::{ALICE, Backend, Harness, launch, next_named};

async fn rent_directly(harness: &Harness, label: &str) -> String {
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
    harness
        .catalog_client()
        .create_instance(catalog::CreateInstanceRequest {
            provider: "vast.ai".to_owned(),
            offer_id: offer.offer_id,
            image: "busybox".to_owned(),
            labels: [("label".to_owned(), label.to_owned())].into(),
            ..catalog::CreateInstanceRequest::default()
        })
        .await
        .expect("rented behind the service's back")
        .into_inner()
        .instance_id
}

async fn an_unrecorded_instance_with_our_label_is_destroyed_and_a_foreign_one_is_kept(backend: Backend) {
    let harness = Harness::start_idle(backend, &[]).await;
    let orphan_label = format!(
        "{}{}",
        harness.service.label_prefix(),
        uuid::Uuid::now_v7().simple()
    );
    let other_installation = format!("gpuproxy-00000000-{}", uuid::Uuid::now_v7().simple());
    rent_directly(&harness, &orphan_label).await;
    let foreign = rent_directly(&harness, "my-own-training-box").await;
    let staging = rent_directly(&harness, &other_installation).await;
    assert_eq!(harness.instances_at_providers(), 3);

    let report = harness.service.reconcile().await.expect("reconciled");
    assert_eq!(report.orphans_destroyed, 1, "{report:?}");
    assert_eq!(
        harness.instances_at_providers(),
        2,
        "instances without our label, or with another installation's, are left alone"
    );
    let left = harness
        .catalog_client()
        .get_instance(catalog::GetInstanceRequest {
            provider: "vast.ai".to_owned(),
            instance_id: foreign,
        })
        .await;
    assert!(left.is_ok());
    let staging_left = harness
        .catalog_client()
        .get_instance(catalog::GetInstanceRequest {
            provider: "vast.ai".to_owned(),
            instance_id: staging,
        })
        .await;
    assert!(staging_left.is_ok());
    let again = harness.service.reconcile().await.expect("reconciled");
    assert!(!again.changed_anything(), "{again:?}");
}

async fn an_instance_gone_at_the_provider_is_ended_and_announced(backend: Backend) {
    let harness = Harness::start_idle(backend, &[]).await;
    let mut events = harness.events().await;
    let done = harness
        .service
        .reserve(pb::ReserveRequest {
            user_id: ALICE.to_string(),
            count: 2,
            filters: Some(catalog::OfferFilters::default()),
            config: Some(launch(0)),
            idempotency_key: String::new(),
        })
        .await
        .expect("reserved");
    let lost = &done.reserved[0];
    harness
        .catalog_client()
        .destroy_instance(catalog::DestroyInstanceRequest {
            provider: lost.provider.clone(),
            instance_id: lost.instance_id.clone(),
        })
        .await
        .expect("destroyed behind the service's back");

    let report = harness.service.reconcile().await.expect("reconciled");
    assert_eq!(report.gone, 1, "{report:?}");
    let ended = harness
        .service
        .get_instance(ALICE, &lost.provider, &lost.instance_id)
        .await
        .expect("still recorded");
    assert!(
        matches!(ended.status.as_str(), "failed" | "terminated"),
        "{}",
        ended.status
    );
    harness.publish_events().await;
    loop {
        let event = next_named(&mut events, names::INSTANCE_DESTROYED, Duration::from_secs(5)).await;
        if event.data["instance_id"] == lost.instance_id.as_str() {
            let reason = event.data["reason"].as_str().unwrap_or_default();
            assert!(
                reason.contains("gone") || reason.contains("provider reports"),
                "{reason}"
            );
            break;
        }
    }
    assert_eq!(
        harness
            .service
            .list_instances(ALICE, false)
            .await
            .expect("listed")
            .len(),
        1
    );
}

crate::on_both_databases!(
    an_unrecorded_instance_with_our_label_is_destroyed_and_a_foreign_one_is_kept,
    an_instance_gone_at_the_provider_is_ended_and_announced,
);
