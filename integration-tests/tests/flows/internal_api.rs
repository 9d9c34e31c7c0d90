//! Internal ports are closed to callers outside the fleet.

use gpuproxy_config::EnvMap;
use gpuproxy_daemon::{DaemonConfig, Role};
use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use gpuproxy_proto::gpuproxy::auth::v1 as auth;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_client::AuthServiceClient;
use reqwest::StatusCode;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const TOKEN: &str = "internal-token-internal-token-internal-token";

#[tokio::test]
async fn the_internal_api_answers_only_callers_with_the_fleet_token() {
    let fleet = TestFleet::start_with(Mode::Fleet, &[("INTERNAL_API_TOKEN", TOKEN)]).await;
    let (_, token) = fleet.rest.new_user().await;
    expect_status(
        fleet.rest.get("/api/v1/auth/me", Auth::Bearer(&token)).await,
        StatusCode::OK,
    )
    .await;
    let health = expect_status(fleet.rest.get("/health", Auth::None).await, StatusCode::OK).await;
    assert_eq!(
        health["services"]["auth"], "healthy",
        "the gateway sends the token"
    );

    let endpoint = format!("http://{}", fleet.auth_grpc_addr.expect("auth listens"));
    let channel = tonic::transport::Endpoint::from_shared(endpoint)
        .expect("endpoint")
        .connect()
        .await
        .expect("connects");
    let mut client = AuthServiceClient::new(channel.clone());
    let outsider = client
        .list_users(auth::ListUsersRequest::default())
        .await
        .expect_err("no token");
    assert_eq!(outsider.code(), tonic::Code::Unauthenticated);
    let mut wrong = tonic::Request::new(auth::ListUsersRequest::default());
    wrong
        .metadata_mut()
        .insert("x-internal-token", "guess".parse().expect("value"));
    assert_eq!(
        client.list_users(wrong).await.expect_err("wrong token").code(),
        tonic::Code::Unauthenticated
    );
    let mut right = tonic::Request::new(auth::ListUsersRequest::default());
    right
        .metadata_mut()
        .insert("x-internal-token", TOKEN.parse().expect("value"));
    assert_eq!(
        client
            .list_users(right)
            .await
            .expect("the fleet's token")
            .into_inner()
            .total_count,
        1
    );

    let probe = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await;
    assert!(probe.is_ok(), "Kubernetes probes need no token: {probe:?}");
}

#[tokio::test]
async fn the_auth_service_will_not_open_its_port_to_the_network_without_a_token() {
    let data = tempfile::tempdir().expect("temp dir");
    let env = EnvMap::from_pairs([
        ("JWT_SECRET", "integration-test-secret-integration-test-secret"),
        ("INTERNAL_HOST", "0.0.0.0"),
        ("AUTH_GRPC_PORT", "0"),
        ("DATA_DIR", data.path().to_str().expect("path")),
    ]);
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");

    let error = gpuproxy_daemon::start(Role::Service(&gpuproxy_config::AUTH), config)
        .await
        .expect_err("refused");

    assert!(format!("{error:#}").contains("INTERNAL_API_TOKEN"), "{error:#}");
}

#[tokio::test]
async fn a_user_made_admin_is_admitted_as_admin_by_every_gateway_at_once() {
    let fleet = TestFleet::start_with(Mode::Fleet, &[("INTERNAL_API_TOKEN", TOKEN)]).await;
    let (email, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    // Each gateway caches the principal (AUTH_CACHE_TTL is a minute) as a user.
    for gateway in 0..fleet.gateways.len() {
        let refused = fleet
            .rest_of(gateway)
            .get("/api/v1/admin/users", Auth::Key(&key))
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    let endpoint = format!("http://{}", fleet.auth_grpc_addr.expect("auth listens"));
    let channel = tonic::transport::Endpoint::from_shared(endpoint)
        .expect("endpoint")
        .connect()
        .await
        .expect("connects");
    let mut promote = tonic::Request::new(auth::SetAdminRequest {
        email,
        is_admin: true,
    });
    promote
        .metadata_mut()
        .insert("x-internal-token", TOKEN.parse().expect("value"));
    AuthServiceClient::new(channel)
        .set_admin(promote)
        .await
        .expect("made admin");
    // The user.updated event drops the cached principals long before their minute is up.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    for gateway in 0..fleet.gateways.len() {
        loop {
            let answer = fleet
                .rest_of(gateway)
                .get("/api/v1/admin/users", Auth::Key(&key))
                .await;
            if answer.status() == StatusCode::OK {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gateway {gateway} still treats the user as no admin"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
