//! Guard rails through the gateway: spending, checks with 402 and violations, records, admin
//! resets (of every window or one), per-user limits set by admins, headers, and the gRPC methods.

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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

async fn send(
    fleet: &TestFleet,
    method: Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = fleet.rest.request(method, path, auth);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.expect("the gateway answers")
}

async fn check(fleet: &TestFleet, key: &str, cost: f64) -> reqwest::Response {
    fleet
        .rest
        .post(
            "/api/v1/guardrails/spending/check",
            Auth::Key(key),
            &json!({"estimated_cost": cost}),
        )
        .await
}

async fn admin_routes_refuse_users_who_are_not_admins(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &LIMITS).await;
    let (email, token) = fleet.rest.new_user().await;
    let limits = format!("/api/v1/admin/guardrails/limits?email={email}");
    let spending = format!("/api/v1/admin/guardrails/spending?email={email}");
    let body = json!({"email": email, "limits": {"60min": 1000.0}});
    let cases = [
        (Method::GET, limits.as_str(), None),
        (Method::PUT, "/api/v1/admin/guardrails/limits", Some(&body)),
        (Method::DELETE, limits.as_str(), None),
        (Method::GET, spending.as_str(), None),
        (Method::GET, "/api/v1/admin/guardrails/status", None),
    ];

    for (method, path, body) in cases {
        let refused = expect_status(
            send(&fleet, method.clone(), path, Auth::Bearer(&token), body).await,
            StatusCode::FORBIDDEN,
        )
        .await;
        assert_eq!(refused["code"], "FORBIDDEN", "{method} {path}");
    }
    let unauthenticated = send(
        &fleet,
        Method::GET,
        "/api/v1/admin/guardrails/status",
        Auth::None,
        None,
    )
    .await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
}

async fn admins_override_a_users_limits_and_clear_them(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &LIMITS).await;
    let (email, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    let (_, other_token) = fleet.rest.new_user().await;
    let (_, other_key) = fleet.rest.create_key(&other_token).await;
    let admin = fleet.rest.login("root@example.com").await;
    let admin = Auth::Bearer(&admin);
    let put = |limits: Value| json!({"email": email, "limits": limits});

    let set = expect_status(
        send(
            &fleet,
            Method::PUT,
            "/api/v1/admin/guardrails/limits",
            admin,
            Some(&put(json!({"60min": 10.0, "72h": 500.0}))),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    let hour = &set["data"]["windows"][3];
    assert_eq!(
        (
            hour["window"].as_str(),
            hour["limit"].as_f64(),
            hour["global_limit"].as_f64(),
            hour["overridden"].as_bool()
        ),
        (Some("60min"), Some(10.0), Some(50.0), Some(true))
    );
    assert_eq!(set["data"]["email"], email.as_str());
    let refused = expect_status(check(&fleet, &key, 25.0).await, StatusCode::PAYMENT_REQUIRED).await;
    assert_eq!(
        refused["violations"][0],
        "60min: $0.00 + $25.00 = $25.00 > $10.00 limit"
    );
    expect_status(check(&fleet, &other_key, 25.0).await, StatusCode::OK).await;
    let read = expect_status(
        send(
            &fleet,
            Method::GET,
            &format!("/api/v1/admin/guardrails/limits?email={email}"),
            admin,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(read["data"]["windows"][16]["limit"], 500.0);
    assert_eq!(read["data"]["windows"][14]["overridden"], false);

    for (limits, field) in [
        (json!({"2h": 10.0}), "limits"),
        (json!({"60min": -1.0}), "limits.60min"),
    ] {
        let bad = expect_status(
            send(
                &fleet,
                Method::PUT,
                "/api/v1/admin/guardrails/limits",
                admin,
                Some(&put(limits)),
            )
            .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(
            (bad["code"].as_str(), bad["field"].as_str()),
            (Some("VALIDATION_FAILED"), Some(field))
        );
    }
    expect_status(
        send(
            &fleet,
            Method::PUT,
            "/api/v1/admin/guardrails/limits",
            admin,
            Some(&put(json!({"60min": 0.0}))),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    expect_status(check(&fleet, &key, 150.0).await, StatusCode::OK).await;

    let path = format!("/api/v1/admin/guardrails/limits?email={email}&window=60min");
    let cleared = expect_status(
        send(&fleet, Method::DELETE, &path, admin, None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["data"]["windows"][3]["overridden"], false);
    assert_eq!(cleared["data"]["windows"][16]["overridden"], true);
    expect_status(check(&fleet, &key, 60.0).await, StatusCode::PAYMENT_REQUIRED).await;
    let path = format!("/api/v1/admin/guardrails/limits?email={email}");
    let cleared = expect_status(
        send(&fleet, Method::DELETE, &path, admin, None).await,
        StatusCode::OK,
    )
    .await;
    assert!(
        cleared["data"]["windows"]
            .as_array()
            .expect("windows")
            .iter()
            .all(|window| window["overridden"] == false)
    );
    let unknown = expect_status(
        send(
            &fleet,
            Method::GET,
            "/api/v1/admin/guardrails/limits?email=nobody@example.com",
            admin,
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(unknown["code"], "NOT_FOUND");

    let status = expect_status(
        send(
            &fleet,
            Method::GET,
            "/api/v1/admin/guardrails/status",
            admin,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (
            status["data"]["enabled"].as_bool(),
            status["data"]["mode"].as_str()
        ),
        (Some(true), Some("enforce"))
    );
    assert_eq!(
        status["data"]["limits"][3],
        json!({"window": "60min", "limit": 50.0})
    );
    assert_eq!(status["data"]["limits"].as_array().map(Vec::len), Some(17));
}

async fn admins_read_a_users_spending_and_reset_one_window(mode: Mode) {
    let fleet = TestFleet::start_with(mode, &LIMITS).await;
    let (email, token) = fleet.rest.new_user().await;
    let (_, key) = fleet.rest.create_key(&token).await;
    let admin = fleet.rest.login("root@example.com").await;
    let admin = Auth::Bearer(&admin);
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

    let spending = expect_status(
        send(
            &fleet,
            Method::GET,
            &format!("/api/v1/admin/guardrails/spending?email={email}"),
            admin,
            None,
        )
        .await,
        StatusCode::OK,
    )
    .await;

    assert_eq!(spending["data"]["email"], email.as_str());
    assert_eq!(spending["data"]["windows"][3]["spent"], 45.0);
    assert_eq!(spending["data"]["total_spent_24h"], 45.0);
    // A reset keeps spending of its own millisecond (it may have come after it): step past it.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let reset = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/guardrails/spending/reset",
                admin,
                &json!({"email": email, "window": "60min"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(reset["data"]["windows"][3]["spent"], 0.0);
    assert_eq!(
        reset["data"]["windows"][14]["spent"], 45.0,
        "the day keeps its spending"
    );
    expect_status(check(&fleet, &key, 40.0).await, StatusCode::OK).await;
    let bad = expect_status(
        fleet
            .rest
            .post(
                "/api/v1/guardrails/spending/reset",
                admin,
                &json!({"email": email, "window": "weekly"}),
            )
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        (bad["code"].as_str(), bad["field"].as_str()),
        (Some("VALIDATION_FAILED"), Some("window"))
    );
    let missing = expect_status(
        send(
            &fleet,
            Method::GET,
            "/api/v1/admin/guardrails/spending",
            admin,
            None,
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(missing["field"], "email");
}

crate::in_both_modes!(
    spending_is_checked_recorded_and_reset,
    grpc_reports_spending_and_checks_limits,
    admin_routes_refuse_users_who_are_not_admins,
    admins_override_a_users_limits_and_clear_them,
    admins_read_a_users_spending_and_reset_one_window,
);
