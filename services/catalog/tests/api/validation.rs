//! Bad input to the internal API: INVALID_ARGUMENT with a code and the field, nothing sent to a provider.

use std::time::Duration;

use gpuproxy_errors::{ErrorCode, code_of, field_of};
use gpuproxy_proto::gpuproxy::catalog::v1 as pb;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;

use crate::helpers::Harness;

#[tokio::test]
async fn bad_filters_are_invalid_arguments_naming_the_field() {
    let harness = Harness::start().await.warmed().await;
    harness.sim.clear_requests();
    let mut client = CatalogServiceClient::new(harness.channel.clone());
    let cases = [
        (
            pb::ListOffersRequest {
                filters: Some(pb::OfferFilters {
                    min_vram_gb: -1.0,
                    ..Default::default()
                }),
                ..Default::default()
            },
            "min_vram",
        ),
        (
            pb::ListOffersRequest {
                filters: Some(pb::OfferFilters {
                    provider: "aws".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "provider",
        ),
        (
            pb::ListOffersRequest {
                limit: 1_000_000,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListOffersRequest {
                filters: Some(pb::OfferFilters {
                    gpu_model: "x".repeat(500),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "gpu_model",
        ),
    ];
    for (request, field) in cases {
        let status = client.list_offers(request).await.expect_err("refused");
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{field}");
        assert_eq!(code_of(&status), ErrorCode::ValidationFailed, "{field}");
        assert_eq!(field_of(&status).as_deref(), Some(field));
    }
    let status = client
        .create_instance(pb::CreateInstanceRequest {
            provider: "vast.ai".into(),
            offer_id: "1".into(),
            image: "x".into(),
            ports: vec![70_000],
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(field_of(&status).as_deref(), Some("ports"));
    let status = client
        .get_offer(pb::GetOfferRequest {
            provider: "io.net".into(),
            offer_id: "../../etc".into(),
        })
        .await
        .expect_err("no such offer");
    assert_eq!(code_of(&status), ErrorCode::NotFound);
    for provider in [
        gpuproxy_provider_sim::SimProvider::VastAi,
        gpuproxy_provider_sim::SimProvider::IoNet,
    ] {
        assert!(harness.sim.requests(provider).is_empty(), "{provider:?}");
    }
}

#[tokio::test]
async fn a_create_with_an_idempotency_key_rents_once() {
    let harness = Harness::start().await;
    let mut client = CatalogServiceClient::new(harness.channel.clone());
    let listing = client
        .list_offers(pb::ListOffersRequest {
            filters: Some(pb::OfferFilters {
                provider: "vast.ai".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    let request = pb::CreateInstanceRequest {
        provider: "vast.ai".into(),
        offer_id: listing.offers[0].offer_id.clone(),
        image: "pytorch/pytorch:latest".into(),
        idempotency_key: "retry-me".into(),
        ..Default::default()
    };
    let (mut one, mut two) = (client.clone(), client.clone());
    let (first, second) = tokio::join!(
        one.create_instance(request.clone()),
        two.create_instance(request.clone())
    );
    let first = first.expect("rented").into_inner();
    let second = second.expect("the same rent").into_inner();
    assert_eq!(first.instance_id, second.instance_id);
    let third = client
        .create_instance(request)
        .await
        .expect("remembered")
        .into_inner();
    assert_eq!(third.instance_id, first.instance_id);
    assert_eq!(
        harness
            .sim
            .instance_count(gpuproxy_provider_sim::SimProvider::VastAi),
        1
    );
}

#[tokio::test]
async fn a_create_abandoned_by_its_caller_still_completes_and_a_retry_gets_it() {
    let harness = Harness::start().await.warmed().await;
    let mut client = CatalogServiceClient::new(harness.channel.clone());
    let listing = client
        .list_offers(pb::ListOffersRequest {
            filters: Some(pb::OfferFilters {
                provider: "io.net".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    harness.sim.set_faults(
        gpuproxy_provider_sim::SimProvider::IoNet,
        gpuproxy_provider_sim::Faults {
            latency_ms: 400,
            ..Default::default()
        },
    );
    let request = pb::CreateInstanceRequest {
        provider: "io.net".into(),
        offer_id: listing.offers[0].offer_id.clone(),
        image: "pytorch/pytorch:latest".into(),
        idempotency_key: "Order 42".into(),
        ..Default::default()
    };
    let abandoned = tokio::time::timeout(
        Duration::from_millis(100),
        client.clone().create_instance(request.clone()),
    )
    .await;
    assert!(
        abandoned.is_err(),
        "the caller gave up before the provider answered"
    );
    let retried = client
        .create_instance(request)
        .await
        .expect("the first rent")
        .into_inner();
    assert!(!retried.instance_id.is_empty());
    assert_eq!(
        harness
            .sim
            .instance_count(gpuproxy_provider_sim::SimProvider::IoNet),
        1
    );
    let deploys = harness
        .sim
        .requests(gpuproxy_provider_sim::SimProvider::IoNet)
        .into_iter()
        .filter(|recorded| recorded.path.ends_with("/caas/deploy"))
        .count();
    assert_eq!(
        deploys, 1,
        "the retry joined the first rent instead of renting again"
    );
    let deploy = harness
        .sim
        .requests(gpuproxy_provider_sim::SimProvider::IoNet)
        .into_iter()
        .find(|recorded| recorded.path.ends_with("/caas/deploy"))
        .and_then(|recorded| recorded.body)
        .expect("a deploy body");
    assert_eq!(deploy["resource_private_name"], "gpuproxy-order-42");
}

#[tokio::test]
async fn docker_options_cannot_ride_in_env() {
    let harness = Harness::start().await.warmed().await;
    harness.sim.clear_requests();
    let mut client = CatalogServiceClient::new(harness.channel.clone());
    let status = client
        .create_instance(pb::CreateInstanceRequest {
            provider: "vast.ai".into(),
            offer_id: "1".into(),
            image: "x".into(),
            env: [("-v /:/host".to_owned(), "1".to_owned())].into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(field_of(&status).as_deref(), Some("env"));
    assert!(
        harness
            .sim
            .requests(gpuproxy_provider_sim::SimProvider::VastAi)
            .is_empty()
    );
}
