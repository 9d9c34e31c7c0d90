//! The 101st request in a minute gets 429, on REST and gRPC, shared across gateway replicas.

use gpuproxy_errors::{ErrorCode, code_of};
use gpuproxy_integration_tests::{Auth, Mode, PASSWORD, TestFleet, expect_status, fresh_email};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use reqwest::StatusCode;
use serde_json::json;

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn the_101st_request_in_a_minute_gets_429(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let (_, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    // Creating the key was the user's first request; 99 more fill the window. In the fleet the
    // requests alternate between the two replicas: the window lives in Redis, shared.
    for request in 2..=100 {
        let gateway = request % fleet.gateways.len();
        let response = fleet
            .rest_of(gateway)
            .get("/api/v1/auth/me", Auth::Key(&key))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "request {request}");
        assert_eq!(header(&response, "x-ratelimit-limit"), "100");
        assert_eq!(
            header(&response, "x-ratelimit-remaining"),
            (100 - request).to_string()
        );
    }

    let refused = fleet
        .rest_of(1 % fleet.gateways.len())
        .get("/api/v1/auth/me", Auth::Key(&key))
        .await;

    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = header(&refused, "retry-after")
        .parse()
        .expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(header(&refused, "x-ratelimit-remaining"), "0");
    assert!(
        header(&refused, "x-ratelimit-reset")
            .parse::<u64>()
            .is_ok_and(|reset| reset <= 60)
    );
    assert_eq!(
        expect_status(refused, StatusCode::TOO_MANY_REQUESTS).await["code"],
        "RATE_LIMITED"
    );
    let (_, other_token) = fleet.rest.new_user().await;
    expect_status(
        fleet
            .rest
            .get("/api/v1/auth/me", Auth::Bearer(&other_token))
            .await,
        StatusCode::OK,
    )
    .await;
}

async fn grpc_calls_past_the_limit_are_resource_exhausted(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("RATE_LIMIT_PER_MINUTE", "3")]).await;
    let email = fresh_email();
    fleet.rest.register(&email).await;
    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    let login = public::LoginRequest {
        email: email.clone(),
        password: PASSWORD.to_owned(),
    };
    let token = client
        .login(login)
        .await
        .expect("login is not limited per user")
        .into_inner()
        .token;
    let call = || {
        let mut request = tonic::Request::new(public::ListGpuInstancesRequest::default());
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().expect("value"));
        request
    };
    for _ in 0..3 {
        client.list_gpu_instances(call()).await.expect("within the limit");
    }

    let status = client.list_gpu_instances(call()).await.expect_err("limited");

    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert_eq!(code_of(&status), ErrorCode::RateLimited);
    assert!(status.metadata().get("retry-after").is_some());
}

async fn login_attempts_are_limited_per_client_address(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("RATE_LIMIT_ANONYMOUS_PER_MINUTE", "5")]).await;
    let guess = json!({"email": fresh_email(), "password": "guess-guess"});
    for _ in 0..5 {
        expect_status(
            fleet.rest.post("/api/v1/auth/login", Auth::None, &guess).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let sixth = fleet.rest.post("/api/v1/auth/login", Auth::None, &guess).await;
    assert_eq!(
        expect_status(sixth, StatusCode::TOO_MANY_REQUESTS).await["code"],
        "RATE_LIMITED"
    );
}

/// A failing login attempt that claims to come from `forwarded_for`.
fn guess_password_from(fleet: &TestFleet, forwarded_for: &str) -> reqwest::RequestBuilder {
    let guess = json!({"email": fresh_email(), "password": "guess-guess"});
    fleet
        .rest
        .request(reqwest::Method::POST, "/api/v1/auth/login", Auth::None)
        .header("X-Forwarded-For", forwarded_for)
        .json(&guess)
}

async fn behind_a_trusted_proxy_each_forwarded_address_has_its_own_window(mode: Mode) {
    let fleet = TestFleet::start_with(
        mode,
        &[
            ("RATE_LIMIT_ANONYMOUS_PER_MINUTE", "2"),
            ("TRUST_FORWARDED_FOR", "true"),
        ],
    )
    .await;
    let attempt = |forwarded_for: &'static str| guess_password_from(&fleet, forwarded_for);
    for _ in 0..2 {
        assert_eq!(
            attempt("198.51.100.1").send().await.expect("answered").status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        attempt("198.51.100.1").send().await.expect("answered").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        attempt("198.51.100.2").send().await.expect("answered").status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("RATE_LIMIT_ANONYMOUS_PER_MINUTE", "2")]).await;
    let attempt = |forwarded_for: &'static str| guess_password_from(&fleet, forwarded_for);
    attempt("198.51.100.1").send().await.expect("answered");
    attempt("198.51.100.2").send().await.expect("answered");
    assert_eq!(
        attempt("198.51.100.3").send().await.expect("answered").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn grpc_login_attempts_are_limited_per_client_address(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("RATE_LIMIT_ANONYMOUS_PER_MINUTE", "3")]).await;
    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    let guess = || public::LoginRequest {
        email: fresh_email(),
        password: "guess-guess".to_owned(),
    };
    for _ in 0..3 {
        let status = client.login(guess()).await.expect_err("wrong password");
        assert_eq!(status.code(), tonic::Code::Unauthenticated);
    }

    let status = client.login(guess()).await.expect_err("limited");

    assert_eq!(
        (status.code(), code_of(&status)),
        (tonic::Code::ResourceExhausted, ErrorCode::RateLimited)
    );
}

async fn an_address_that_keeps_sending_bad_credentials_is_cut_off(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("RATE_LIMIT_ANONYMOUS_PER_MINUTE", "3")]).await;
    for n in 0..3 {
        let forged = format!("gpx_{}{n}", "A".repeat(42));
        expect_status(
            fleet.rest.get("/api/v1/auth/me", Auth::Key(&forged)).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }

    let cut_off = fleet
        .rest
        .get("/api/v1/auth/me", Auth::Key("gpx_one-more-guess"))
        .await;
    assert_eq!(
        expect_status(cut_off, StatusCode::TOO_MANY_REQUESTS).await["code"],
        "RATE_LIMITED"
    );
    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    let mut request = tonic::Request::new(public::GetLoadInfoRequest::default());
    request
        .metadata_mut()
        .insert("x-api-key", "gpx_and-over-grpc".parse().expect("value"));
    assert_eq!(
        client.get_load_info(request).await.expect_err("cut off").code(),
        tonic::Code::ResourceExhausted
    );
    let body_token = public::CreateApiKeyRequest {
        name: "k".to_owned(),
        token: "not-a-jwt".to_owned(),
    };
    assert_eq!(
        client
            .create_api_key(body_token)
            .await
            .expect_err("cut off")
            .code(),
        tonic::Code::ResourceExhausted
    );
}

async fn a_user_may_lower_but_not_raise_their_own_limit(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &[("RATE_LIMIT_PER_MINUTE", "5")]).await;
    let (_, token) = fleet.rest.new_user().await;
    let with_override = |limit: &str| {
        fleet
            .rest
            .request(reqwest::Method::GET, "/api/v1/auth/me", Auth::Bearer(&token))
            .header("X-Rate-Limit-Override", limit)
    };

    let raised = with_override("1000").send().await.expect("answered");
    assert_eq!(
        header(&raised, "x-ratelimit-limit"),
        "5",
        "raising is for admins only"
    );
    let lowered = with_override("2").send().await.expect("answered");
    assert_eq!(header(&lowered, "x-ratelimit-limit"), "2");
    assert_eq!(lowered.status(), StatusCode::OK);
    let refused = with_override("2").send().await.expect("answered");
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "third request against a lowered limit of 2"
    );
}

crate::in_both_modes!(
    the_101st_request_in_a_minute_gets_429,
    grpc_calls_past_the_limit_are_resource_exhausted,
    login_attempts_are_limited_per_client_address,
    behind_a_trusted_proxy_each_forwarded_address_has_its_own_window,
    without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing,
    a_user_may_lower_but_not_raise_their_own_limit,
    grpc_login_attempts_are_limited_per_client_address,
    an_address_that_keeps_sending_bad_credentials_is_cut_off,
);
