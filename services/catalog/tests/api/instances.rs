//! Renting, polling to running, reaching the upstream and destroying, on both providers.

use std::time::Duration;

use gpuproxy_catalog::{CreateRequest, InstanceStatus, Query};
use gpuproxy_domain::Provider;
use gpuproxy_errors::{ErrorCode, ServiceError};
use gpuproxy_provider_sim::SimProvider;

use crate::helpers::{Harness, eventually};

fn sim_provider(provider: Provider) -> SimProvider {
    match provider {
        Provider::VastAi => SimProvider::VastAi,
        Provider::IoNet => SimProvider::IoNet,
    }
}

async fn cheapest(harness: &Harness, provider: Provider) -> String {
    let query = Query {
        provider: Some(provider),
        ..Query::default()
    };
    harness.catalog.list(&query).await.offers[0].offer_id.clone()
}

async fn rent_reach_and_destroy(provider: Provider) {
    let harness = Harness::start().await;
    let offer_id = cheapest(&harness, provider).await;
    let request = CreateRequest {
        offer_id: offer_id.clone(),
        image: "vllm/vllm-openai:latest".to_owned(),
        env: [("MODEL".to_owned(), "tiny".to_owned())].into(),
        ports: vec![8000],
        disk_gb: 20,
        label: format!("gpuproxy-test-{}", provider.as_str()),
    };
    let created = harness
        .catalog
        .create_instance(provider, &request)
        .await
        .expect("rented");
    assert_ne!(
        created.status,
        InstanceStatus::Running,
        "not running before its start-up delay"
    );
    assert_eq!(harness.sim.instance_count(sim_provider(provider)), 1);

    let listing = harness
        .catalog
        .list(&Query {
            provider: Some(provider),
            limit: 500,
            ..Query::default()
        })
        .await;
    assert!(
        listing
            .offers
            .iter()
            .all(|offer| offer.offer_id != offer_id || provider == Provider::IoNet),
        "a rented vast.ai offer leaves the listing"
    );

    let catalog = harness.catalog.clone();
    let instance_id = created.instance_id.clone();
    let running = eventually(Duration::from_secs(10), || {
        let catalog = catalog.clone();
        let instance_id = instance_id.clone();
        async move {
            let instance = catalog
                .get_instance(provider, &instance_id)
                .await
                .expect("readable");
            (instance.status == InstanceStatus::Running).then_some(instance)
        }
    })
    .await;
    let endpoint = running
        .endpoints
        .get("8000")
        .expect("port 8000 is mapped")
        .clone();
    let health = reqwest::get(format!("{endpoint}/health"))
        .await
        .expect("the upstream answers");
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.expect("json");
    // vast.ai ids are numbers, io.net's UUID strings.
    assert_eq!(body["instance_id"].to_string().trim_matches('"'), instance_id);

    harness
        .catalog
        .destroy_instance(provider, &instance_id)
        .await
        .expect("destroyed");
    harness
        .catalog
        .destroy_instance(provider, &instance_id)
        .await
        .expect("destroying twice is harmless");
    eventually(Duration::from_secs(5), || {
        let endpoint = endpoint.clone();
        async move {
            reqwest::get(format!("{endpoint}/health"))
                .await
                .is_err()
                .then_some(())
        }
    })
    .await;
    let gone = harness.catalog.get_instance(provider, &instance_id).await;
    match gone {
        Err(error) => assert_eq!(error.code(), ErrorCode::NotFound),
        Ok(instance) => assert!(
            matches!(
                instance.status,
                InstanceStatus::Terminated | InstanceStatus::Stopping
            ),
            "{instance:?}"
        ),
    }
}

#[tokio::test]
async fn a_vastai_instance_is_rented_reached_and_destroyed() {
    rent_reach_and_destroy(Provider::VastAi).await;
}

#[tokio::test]
async fn an_ionet_deployment_is_rented_reached_and_destroyed() {
    rent_reach_and_destroy(Provider::IoNet).await;
}

#[tokio::test]
async fn a_rented_vastai_offer_cannot_be_rented_twice() {
    let harness = Harness::start().await;
    let offer_id = cheapest(&harness, Provider::VastAi).await;
    let request = CreateRequest {
        offer_id,
        image: "pytorch/pytorch:latest".to_owned(),
        ..CreateRequest::default()
    };
    let first = harness
        .catalog
        .create_instance(Provider::VastAi, &request)
        .await
        .expect("rented");
    let second = harness.catalog.create_instance(Provider::VastAi, &request).await;
    assert_eq!(
        second.map(drop).map_err(|error| error.code()),
        Err(ErrorCode::OfferUnavailable)
    );
    harness
        .catalog
        .destroy_instance(Provider::VastAi, &first.instance_id)
        .await
        .expect("destroyed");
    assert_eq!(
        harness.sim.instance_count(SimProvider::VastAi),
        0,
        "nothing left running"
    );
}

#[tokio::test]
async fn a_rent_without_an_image_is_refused_before_reaching_the_provider() {
    let harness = Harness::start().await.warmed().await;
    harness.sim.clear_requests();
    let request = CreateRequest {
        offer_id: "1".to_owned(),
        image: "  ".to_owned(),
        ..CreateRequest::default()
    };
    let refused = harness.catalog.create_instance(Provider::VastAi, &request).await;
    assert_eq!(
        refused.map(drop).map_err(|error| error.code()),
        Err(ErrorCode::ValidationFailed)
    );
    assert!(harness.sim.requests(SimProvider::VastAi).is_empty());
}
