//! One instance: rented, followed to running, seen and destroyed by its owner only.

use gpuproxy_domain::UserId;
use std::time::Duration;

use gpuproxy_errors::{ErrorCode, ServiceError};
use gpuproxy_events::names;
use gpuproxy_proto::gpuproxy::catalog::v1 as catalog;
use gpuproxy_proto::gpuproxy::reservation::v1 as pb;
use gpuproxy_provider_sim::{Faults, SimProvider};

use crate::helpers::{ALICE, Backend, Harness, MALLORY, eventually, launch, next_named};

async fn cheapest(harness: &Harness, provider: &str) -> catalog::Offer {
    harness
        .offers(
            catalog::OfferFilters {
                provider: provider.to_owned(),
                ..catalog::OfferFilters::default()
            },
            1,
        )
        .await
        .remove(0)
}

fn create(user_id: UserId, offer: &catalog::Offer, key: &str) -> pb::CreateInstanceRequest {
    pb::CreateInstanceRequest {
        user_id: user_id.to_string(),
        provider: offer.provider.clone(),
        offer_id: offer.offer_id.clone(),
        config: Some(launch(0)),
        idempotency_key: key.to_owned(),
    }
}

async fn an_instance_runs_and_only_its_owner_sees_or_destroys_it(backend: Backend) {
    let harness = Harness::start(backend).await;
    let mut events = harness.events().await;
    for provider in ["vast.ai", "io.net"] {
        let offer = cheapest(&harness, provider).await;
        let created = harness
            .service
            .create_instance(create(ALICE, &offer, ""))
            .await
            .expect("rented");
        assert!(
            matches!(created.status.as_str(), "pending" | "loading"),
            "{}",
            created.status
        );
        assert_eq!(
            (created.offer_id.as_str(), created.user_id.as_str()),
            (offer.offer_id.as_str(), ALICE.to_string().as_str())
        );
        let announced = next_named(&mut events, names::INSTANCE_CREATED, Duration::from_secs(5)).await;
        assert_eq!(announced.data["instance_id"], created.instance_id.as_str());

        let service = harness.service.clone();
        let instance_id = created.instance_id.clone();
        let running = eventually(Duration::from_secs(10), || {
            let service = service.clone();
            let instance_id = instance_id.clone();
            async move {
                let found = service
                    .get_instance(ALICE, provider, &instance_id)
                    .await
                    .expect("readable");
                (found.status == "running").then_some(found)
            }
        })
        .await;
        let health = reqwest::get(format!("{}/health", running.endpoint))
            .await
            .expect("the endpoint answers");
        assert_eq!(health.status(), 200);

        let stranger = harness
            .service
            .get_instance(MALLORY, provider, &instance_id)
            .await
            .expect_err("hidden");
        assert_eq!(stranger.code(), ErrorCode::NotFound);
        let stranger = harness
            .service
            .destroy_instance(MALLORY, provider, &instance_id)
            .await
            .expect_err("hidden");
        assert_eq!(stranger.code(), ErrorCode::NotFound);
        assert!(
            harness
                .service
                .list_instances(MALLORY, true)
                .await
                .expect("listed")
                .is_empty()
        );
        assert_eq!(
            harness
                .service
                .list_instances(ALICE, false)
                .await
                .expect("listed")
                .len(),
            1
        );

        let terminated = harness
            .service
            .destroy_instance(ALICE, provider, &instance_id)
            .await
            .expect("destroyed");
        assert!(terminated);
        assert_eq!(harness.instances_at_providers(), 0);
        let destroyed = next_named(&mut events, names::INSTANCE_DESTROYED, Duration::from_secs(5)).await;
        assert_eq!(destroyed.data["reason"], "destroyed by owner");
        assert!(
            harness
                .service
                .destroy_instance(ALICE, provider, &instance_id)
                .await
                .expect("again")
        );
        let ended = harness
            .service
            .get_instance(ALICE, provider, &instance_id)
            .await
            .expect("kept");
        assert_eq!(ended.status, "terminated");
        assert!(
            harness
                .service
                .list_instances(ALICE, false)
                .await
                .expect("listed")
                .is_empty()
        );
    }
}

async fn a_create_retried_with_its_key_rents_once(backend: Backend) {
    let harness = Harness::start(backend).await;
    let offer = cheapest(&harness, "io.net").await;
    let first = harness
        .service
        .create_instance(create(ALICE, &offer, "k-1"))
        .await
        .expect("rented");
    let again = harness
        .service
        .create_instance(create(ALICE, &offer, "k-1"))
        .await
        .expect("answered");
    assert_eq!(first.instance_id, again.instance_id);
    assert_eq!(harness.instances_at_providers(), 1);
}

async fn bad_creates_are_refused_naming_the_field(backend: Backend) {
    let harness = Harness::start(backend).await;
    let offer = cheapest(&harness, "vast.ai").await;
    let mut bad_image = create(ALICE, &offer, "");
    bad_image.config = Some(pb::InstanceConfig {
        image: "i".repeat(1025),
        ..launch(0)
    });
    let mut bad_env = create(ALICE, &offer, "");
    bad_env.config = Some(pb::InstanceConfig {
        env: [("-v /:/host".to_owned(), "x".to_owned())].into(),
        ..launch(0)
    });
    let mut bad_provider = create(ALICE, &offer, "");
    bad_provider.provider = "aws".to_owned();
    let mut bad_port = create(ALICE, &offer, "");
    bad_port.config = Some(pb::InstanceConfig {
        ports: vec![70_000],
        ..launch(0)
    });
    let mut no_user = create(ALICE, &offer, "");
    no_user.user_id = "alice".to_owned();
    let mut unknown_offer = create(ALICE, &offer, "");
    unknown_offer.offer_id = "999999999".to_owned();
    for (request, field) in [
        (no_user, "user_id"),
        (bad_image, "image"),
        (bad_env, "env"),
        (bad_provider, "provider"),
        (bad_port, "ports"),
    ] {
        let refused = harness
            .service
            .create_instance(request)
            .await
            .expect_err("refused");
        assert_eq!(
            (refused.code(), refused.field()),
            (ErrorCode::ValidationFailed, Some(field))
        );
    }
    let refused = harness
        .service
        .create_instance(unknown_offer)
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), ErrorCode::NotFound);
    assert_eq!(harness.instances_at_providers(), 0);
    assert!(
        harness
            .service
            .list_instances(ALICE, true)
            .await
            .expect("listed")
            .is_empty(),
        "nothing recorded"
    );
}

/// The follower looks an instance up at its provider while its owner destroys it: the answer
/// ("running") arrives after the destroy began, and must not put the instance back in rotation.
async fn an_instance_destroyed_while_followed_stays_out_of_rotation(backend: Backend) {
    let harness = Harness::start_idle(backend, &[]).await;
    let offer = cheapest(&harness, "vast.ai").await;
    let created = harness
        .service
        .create_instance(create(ALICE, &offer, ""))
        .await
        .expect("rented");
    // Running at the provider, not yet followed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    harness.sim.set_faults(
        SimProvider::VastAi,
        Faults {
            latency_ms: 600,
            ..Faults::default()
        },
    );
    let destroying = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        harness
            .service
            .destroy_instance(ALICE, "vast.ai", &created.instance_id)
            .await
    };
    let (started, terminated) =
        futures::future::join(harness.service.follow_starting_instances(), destroying).await;
    assert!(terminated.expect("destroyed"));
    let started = started.expect("followed");
    assert_eq!(started, 0, "a destroyed instance did not start");
    let loads = harness.service.load_info(ALICE, "").expect("loads");
    assert!(
        loads.server_load.is_empty(),
        "still in rotation: {:?}",
        loads.server_load
    );
    let found = harness
        .service
        .get_instance(ALICE, "vast.ai", &created.instance_id)
        .await
        .expect("readable");
    assert_eq!(found.status, "terminated");
}

crate::on_both_databases!(
    an_instance_runs_and_only_its_owner_sees_or_destroys_it,
    a_create_retried_with_its_key_rents_once,
    bad_creates_are_refused_naming_the_field,
    an_instance_destroyed_while_followed_stays_out_of_rotation,
);
