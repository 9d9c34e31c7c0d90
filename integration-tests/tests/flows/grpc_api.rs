//! The public gRPC API: Login, CreateAPIKey, HealthCheck, and authentication by metadata.

use gpuproxy_errors::{ErrorCode, code_of};
use gpuproxy_integration_tests::{Mode, PASSWORD, TestFleet};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use tonic::transport::Channel;

fn with(
    message: impl Into<public::ListGpuInstancesRequest>,
    name: &str,
    value: &str,
) -> tonic::Request<public::ListGpuInstancesRequest> {
    let mut request = tonic::Request::new(message.into());
    request.metadata_mut().insert(
        name.parse::<tonic::metadata::MetadataKey<_>>().expect("name"),
        value.parse().expect("value"),
    );
    request
}

fn list_request() -> public::ListGpuInstancesRequest {
    public::ListGpuInstancesRequest {
        provider: "all".to_owned(),
        min_vram: 16.0,
        ..Default::default()
    }
}

async fn client(fleet: &TestFleet) -> GpuProxyServiceClient<Channel> {
    GpuProxyServiceClient::new(fleet.grpc_channel().await)
}

async fn login(client: &mut GpuProxyServiceClient<Channel>, email: &str) -> public::LoginResponse {
    client
        .login(public::LoginRequest {
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
        })
        .await
        .expect("logged in over gRPC")
        .into_inner()
}

async fn login_then_key_then_authenticated_calls_over_grpc(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let email = gpuproxy_integration_tests::fresh_email();
    let user_id = fleet.rest.register(&email).await;
    let mut client = client(&fleet).await;

    let login = login(&mut client, &email).await;
    assert_eq!(
        (login.user_id.as_str(), login.email.as_str()),
        (user_id.as_str(), email.as_str())
    );

    let mut create = tonic::Request::new(public::CreateApiKeyRequest {
        name: "grpc key".to_owned(),
        token: String::new(),
    });
    create.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", login.token).parse().expect("value"),
    );
    let created = client
        .create_api_key(create)
        .await
        .expect("created with metadata")
        .into_inner();
    assert!(created.api_key.starts_with("gpx_"));
    assert_eq!(created.name, "grpc key");
    assert!(created.created_at > 1_700_000_000, "unix seconds");

    // An authenticated call reaches the catalog, with either credential.
    for (name, value) in [
        ("x-api-key", created.api_key.clone()),
        ("authorization", format!("Bearer {}", login.token)),
    ] {
        let listing = client
            .list_gpu_instances(with(list_request(), name, &value))
            .await
            .unwrap_or_else(|status| panic!("{name}: {status:?}"))
            .into_inner();
        assert!(!listing.instances.is_empty(), "{name}");
        assert!(listing.instances.iter().all(|instance| instance.vram_gb >= 16));
    }
}

async fn the_token_field_authenticates_create_api_key_for_clients_without_metadata(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let email = gpuproxy_integration_tests::fresh_email();
    fleet.rest.register(&email).await;
    let mut client = client(&fleet).await;
    let login = login(&mut client, &email).await;

    let request = public::CreateApiKeyRequest {
        name: "body token".to_owned(),
        token: login.token,
    };
    let created = client
        .create_api_key(request)
        .await
        .expect("created with the body token")
        .into_inner();
    assert!(created.api_key.starts_with("gpx_"));

    let anonymous = public::CreateApiKeyRequest {
        name: "nobody".to_owned(),
        token: String::new(),
    };
    let status = client
        .create_api_key(anonymous)
        .await
        .expect_err("no credentials");
    assert_eq!(code_of(&status), ErrorCode::Unauthenticated);
}

async fn calls_without_valid_credentials_are_unauthenticated(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let mut client = client(&fleet).await;

    let missing = client
        .list_gpu_instances(list_request())
        .await
        .expect_err("no credentials");
    assert_eq!(missing.code(), tonic::Code::Unauthenticated);
    assert_eq!(code_of(&missing), ErrorCode::Unauthenticated);
    let forged = client
        .list_gpu_instances(with(list_request(), "x-api-key", "gpx_forged"))
        .await
        .expect_err("bad key");
    assert_eq!(forged.code(), tonic::Code::Unauthenticated);
    assert_eq!(code_of(&forged), ErrorCode::InvalidToken);

    let wrong = public::LoginRequest {
        email: gpuproxy_integration_tests::fresh_email(),
        password: PASSWORD.to_owned(),
    };
    let status = client.login(wrong).await.expect_err("unknown user");
    assert_eq!(
        (status.code(), code_of(&status)),
        (tonic::Code::Unauthenticated, ErrorCode::InvalidCredentials)
    );
    let malformed = public::LoginRequest {
        email: "nope".to_owned(),
        password: PASSWORD.to_owned(),
    };
    let status = client.login(malformed).await.expect_err("not an email");
    assert_eq!(
        (status.code(), code_of(&status)),
        (tonic::Code::InvalidArgument, ErrorCode::InvalidEmail)
    );
}

crate::in_both_modes!(
    login_then_key_then_authenticated_calls_over_grpc,
    the_token_field_authenticates_create_api_key_for_clients_without_metadata,
    calls_without_valid_credentials_are_unauthenticated,
);
