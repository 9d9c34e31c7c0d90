//! Guard rails through the gateway: spending, checks with 402 and violations, records, admin
//! resets, headers, and the gRPC methods.

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use reqwest::StatusCode;
use serde_json::json;

const LIMITS: [(&str, &str); 5] = [
    ("GUARDRAILS_ENABLED", "true"),
    ("GUARDRAILS_MAX_60MIN_RATE", "50.00"),
    ("GUARDRAILS_MAX_1440MIN_RATE", "200.00"),
    ("BOOTSTRAP_ADMIN_EMAIL", "root@example.com"),
    ("BOOTSTRAP_ADMIN_PASSWORD", "secure-password"),
];

async fn spending_is_checked_recorded_and_reset(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &LIMITS).await;
    let (email, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;

    let response = fleet
        .rest
        .get("/api/v1/guardrails/spending", Auth::Key(&key))
        .await;
    assert_eq!(response.headers()["x-guardrails-enabled"], "true");
    assert_eq!(response.headers()["x-guardrails-60min"], "0.00/50.00");
    let spending = expect_status(response, StatusCode::OK).await;
    assert_eq!(spending["data"]["windows"].as_array().map(Vec::len), Some(17));
    assert_eq!(spending["data"]["guard_rails_enabled"], true);

    let recorded = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/guardrails/spending/record",
                Auth::Key(&key),
                &json!({"amount": 45.0}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let hour = &recorded["data"]["windows"][3];
    assert_eq!(
        (hour["window"].as_str(), hour["spent"].as_f64()),
        (Some("60min"), Some(45.0))
    );

    let response = fleet
        .rest
        .post(
            "/api/v1/guardrails/spending/check",
            Auth::Key(&key),
            &json!({"estimated_cost": 25.0}),
        )
        .await;
    assert_eq!(response.headers()["x-guardrails-exceeded"], "60min");
    let refused = expect_status(response, StatusCode::PAYMENT_REQUIRED).await;
    assert_eq!(refused["code"], "SPENDING_LIMIT_EXCEEDED");
    assert_eq!(refused["allowed"], false);
    assert_eq!(
        refused["violations"][0],
        "60min: $45.00 + $25.00 = $70.00 > $50.00 limit"
    );

    let allowed = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/guardrails/spending/check",
                Auth::Key(&key),
                &json!({"estimated_cost": 4.0}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(allowed["data"]["allowed"], true);

    for body in [json!({"estimated_cost": -1}), json!({"estimated_cost": 0})] {
        let bad = expect_status(
            fleet
                .rest
                .post("/api/v1/guardrails/spending/check", Auth::Key(&key), &body)
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(bad["field"], "estimated_cost");
    }

    let forbidden = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/guardrails/spending/reset",
                Auth::Key(&key),
                &json!({"email": email}),
            )
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(forbidden["code"], "FORBIDDEN");
    let admin_token = fleet.rest.login("root@example.com").await;
    let reset = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/guardrails/spending/reset",
                Auth::Bearer(&admin_token),
                &json!({"email": email}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(
        reset["data"]["windows"]
            .as_array()
            .expect("windows")
            .iter()
            .all(|window| window["spent"] == 0.0)
    );
    expect_status(
        fleet
            .rest
            .post(
                "/api/v1/guardrails/spending/reset",
                Auth::Bearer(&admin_token),
                &json!({"email": "nobody@example.com"}),
            )
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn grpc_reports_spending_and_checks_limits(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &LIMITS).await;
    let (_, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    expect_status(
        fleet
            .rest
            .post(
                "/api/v1/guardrails/spending/record",
                Auth::Key(&key),
                &json!({"amount": 45.0}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    let authorized = |amount: f64| {
        let mut request = tonic::Request::new(public::CheckSpendingLimitRequest { amount });
        request
            .metadata_mut()
            .insert("x-api-key", key.parse().expect("value"));
        request
    };
    let check = client
        .check_spending_limit(authorized(25.0))
        .await
        .expect("checked")
        .into_inner();
    assert!(!check.allowed);
    assert_eq!(check.would_exceed[0].window, "60min");
    assert!((check.would_exceed[0].spent - 45.0).abs() < 1e-9);
    let status = client
        .check_spending_limit(authorized(-3.0))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let mut info = tonic::Request::new(public::GetSpendingInfoRequest {});
    info.metadata_mut()
        .insert("x-api-key", key.parse().expect("value"));
    let info = client.get_spending_info(info).await.expect("info").into_inner();
    assert!(info.guard_rails_enabled);
    assert!((info.total_spent_24h - 45.0).abs() < 1e-9);
}

crate::in_both_modes!(
    spending_is_checked_recorded_and_reset,
    grpc_reports_spending_and_checks_limits,
);
