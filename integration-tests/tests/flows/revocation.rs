//! A revoked key or ended session stops working on every gateway within a second.

use std::time::{Duration, Instant};

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Polls `GET /api/v1/auth/me` on every gateway until each answers 401, and returns how long the
/// slowest took. Fails after a second.
async fn time_until_refused_everywhere(fleet: &TestFleet, auth: Auth<'_>) -> Duration {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    for gateway in 0..fleet.gateways.len() {
        let rest = fleet.rest_of(gateway);
        loop {
            ticker.tick().await;
            if rest.get("/api/v1/auth/me", auth).await.status() == StatusCode::UNAUTHORIZED {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "gateway {gateway} still accepts the credential after 1 s"
            );
        }
    }
    started.elapsed()
}

async fn warm_every_cache(fleet: &TestFleet, auth: Auth<'_>) {
    for gateway in 0..fleet.gateways.len() {
        expect_status(
            fleet.rest_of(gateway).get("/api/v1/auth/me", auth).await,
            StatusCode::OK,
        )
        .await;
    }
}

async fn a_revoked_key_stops_working_on_every_gateway_within_a_second(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (_, token) = fleet.rest.new_user().await;
    let (key_id, key) = fleet.rest.create_key(&token).await;
    warm_every_cache(&fleet, Auth::Key(&key)).await;

    let revoke = fleet
        .rest
        .request(
            Method::DELETE,
            &format!("/api/v1/auth/apikey/{key_id}"),
            Auth::Bearer(&token),
        )
        .send()
        .await
        .expect("answered");
    let revoked = expect_status(revoke, StatusCode::OK).await;
    assert!(revoked["data"]["revoked_at"].is_string());

    let took = time_until_refused_everywhere(&fleet, Auth::Key(&key)).await;
    eprintln!("{mode:?}: key refused everywhere {took:?} after revocation");
    let mut request = tonic::Request::new(public::GetLoadInfoRequest::default());
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("value"));
    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    assert_eq!(
        client.get_load_info(request).await.expect_err("revoked").code(),
        tonic::Code::Unauthenticated
    );
}

async fn a_logged_out_token_stops_working_on_every_gateway_within_a_second(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (_, token) = fleet.rest.new_user().await;
    warm_every_cache(&fleet, Auth::Bearer(&token)).await;

    expect_status(
        fleet
            .rest
            .post("/api/v1/auth/logout", Auth::Bearer(&token), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;

    let took = time_until_refused_everywhere(&fleet, Auth::Bearer(&token)).await;
    eprintln!("{mode:?}: token refused everywhere {took:?} after logout");
}

crate::in_both_modes!(
    a_revoked_key_stops_working_on_every_gateway_within_a_second,
    a_logged_out_token_stops_working_on_every_gateway_within_a_second,
);
