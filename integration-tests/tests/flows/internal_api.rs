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
