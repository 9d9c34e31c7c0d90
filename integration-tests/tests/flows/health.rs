//! Health, metrics, OpenAPI, gRPC health and reflection.

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use reqwest::StatusCode;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

async fn health_reports_every_dependency(mode: Mode) {
    let fleet = TestFleet::start(mode).await;

    let health = expect_status(fleet.rest.get("/health", Auth::None).await, StatusCode::OK).await;

    assert_eq!(health["status"], "ok");
    assert!(
        health["timestamp"]
            .as_str()
            .is_some_and(|time| time.ends_with('Z'))
    );
    assert!(health["version"].is_string());
    let services = &health["services"];
    assert_eq!(services["auth"], "healthy");
    assert_eq!(services["database"], "healthy");
    let stand_ins = if mode == Mode::Embedded {
        "in_process"
    } else {
        "healthy"
    };
    assert_eq!(services["redis"], stand_ins);
    assert_eq!(services["nats"], stand_ins);
    expect_status(fleet.rest.get("/health/live", Auth::None).await, StatusCode::OK).await;
    expect_status(fleet.rest.get("/health/ready", Auth::None).await, StatusCode::OK).await;
}

async fn grpc_health_check_needs_no_credentials(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let channel = fleet.grpc_channel().await;

    let health = GpuProxyServiceClient::new(channel.clone())
        .health_check(public::HealthCheckRequest {})
        .await
        .expect("no credentials needed")
        .into_inner();
    assert_eq!(health.status, "ok");
    assert_eq!(
        health.details.get("database").map(String::as_str),
        Some("healthy")
    );
    assert!(health.timestamp > 1_700_000_000);

    let standard = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "gpuproxy.v1.GPUProxyService".to_owned(),
        })
        .await
        .expect("the standard health service answers")
        .into_inner();
    assert_eq!(standard.status(), ServingStatus::Serving);
}

async fn reflection_lists_the_public_service_only(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let mut client = ServerReflectionClient::new(fleet.grpc_channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };

    let mut responses = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let response = responses.message().await.expect("a message").expect("a response");

    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("a service list")
    };
    let names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    assert!(
        names.contains(&"gpuproxy.v1.GPUProxyService".to_owned()),
        "{names:?}"
    );
    assert!(
        names.iter().all(|name| !name.starts_with("gpuproxy.auth")),
        "internal services stay hidden: {names:?}"
    );
}

async fn metrics_count_requests_by_route_and_errors_by_code(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    fleet.rest.get("/api/v1/auth/me", Auth::None).await;
    fleet.rest.get("/health", Auth::None).await;
    let mut grpc = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    grpc.health_check(public::HealthCheckRequest {})
        .await
        .expect("healthy");
    grpc.get_load_info(public::GetLoadInfoRequest::default())
        .await
        .expect_err("no credentials");

    let response = fleet.rest.get("/metrics", Auth::None).await;
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("text")
            .starts_with("text/plain")
    );
    let text = response.text().await.expect("text");

    for series in [
        r#"gpuproxy_requests_total{protocol="rest",route="/api/v1/auth/me",status="401"} 1"#,
        r#"gpuproxy_requests_total{protocol="grpc",route="/gpuproxy.v1.GPUProxyService/HealthCheck",status="Ok"} 1"#,
        r#"gpuproxy_requests_total{protocol="grpc",route="/gpuproxy.v1.GPUProxyService/GetLoadInfo",status="Unauthenticated"} 1"#,
        r#"gpuproxy_errors_total{code="UNAUTHENTICATED"} 2"#,
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    assert!(text.contains("gpuproxy_latency_seconds_bucket"), "{text}");
    assert!(text.contains("gpuproxy_active_instances"), "{text}");
}

async fn openapi_describes_every_route_and_both_credentials(mode: Mode) {
    let fleet = TestFleet::start(mode).await;

    let document = expect_status(fleet.rest.get("/openapi.json", Auth::None).await, StatusCode::OK).await;

    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3."))
    );
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/logout",
        "/api/v1/auth/apikey",
        "/api/v1/auth/apikey/{id}",
        "/api/v1/auth/me",
        "/api/v1/admin/users",
        "/api/v1/gpu/instances",
        "/api/v1/gpu/instances/{provider}/{instance_id}",
        "/api/v1/gpu/instances/mine",
        "/api/v1/gpu/instances/reserve",
        "/api/v1/gpu/reservations",
        "/api/v1/gpu/reservations/{reservation_id}",
        "/api/v1/gpu/proxy",
        "/api/v1/gpu/route/{path}",
        "/api/v1/loadbalancer/strategy",
        "/api/v1/loadbalancer/loads",
        "/api/v1/loadbalancer/load",
        "/api/v1/guardrails/spending",
        "/api/v1/guardrails/spending/check",
        "/api/v1/guardrails/spending/record",
        "/api/v1/guardrails/spending/reset",
        "/api/v1/admin/guardrails/limits",
        "/api/v1/admin/guardrails/spending",
        "/api/v1/admin/guardrails/status",
        "/health",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(paths.contains_key(path), "{path} is missing");
    }
    let limits = &paths["/api/v1/admin/guardrails/limits"];
    assert!(
        ["get", "put", "delete"]
            .iter()
            .all(|method| limits.get(method).is_some()),
        "{limits}"
    );
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["api_key"]["name"], "X-API-Key");
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
}

async fn every_response_carries_a_request_id(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let generated = fleet.rest.get("/health/live", Auth::None).await;
    assert_eq!(generated.headers()["x-request-id"].len(), 36);
    let echoed = fleet
        .rest
        .request(reqwest::Method::GET, "/health/live", Auth::None)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .expect("answered");
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
}

crate::in_both_modes!(
    health_reports_every_dependency,
    grpc_health_check_needs_no_credentials,
    reflection_lists_the_public_service_only,
    metrics_count_requests_by_route_and_errors_by_code,
    openapi_describes_every_route_and_both_credentials,
    every_response_carries_a_request_id,
);
