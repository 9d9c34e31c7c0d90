//! The GPU catalog through the gateway: REST and gRPC listings, filters, lookups, bad input,
//! provider health, and a failing provider that degrades the listing instead of breaking it.

use std::time::Duration;

use gpuproxy_errors::{ErrorCode, code_of, field_of};
use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use gpuproxy_provider_sim::{Faults, SimProvider};
use reqwest::StatusCode;
use serde_json::Value;

async fn user_key(fleet: &TestFleet) -> String {
    let (_, token) = fleet.rest.new_user().await;
    fleet.rest.create_key(&token).await.1
}

fn authorized<T>(key: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("value"));
    request
}

fn offers(body: &Value) -> &Vec<Value> {
    body["data"].as_array().expect("a data array")
}

async fn rest_listing_filters_and_lookups(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    let all = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances?page_size=500", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["status"], "success");
    assert_eq!(all["warnings"], serde_json::json!([]));
    let listed = offers(&all);
    assert_eq!(all["count"].as_u64(), Some(listed.len() as u64));
    assert!(all["total"].as_u64().expect("total") >= listed.len() as u64);
    for provider in ["vast.ai", "io.net"] {
        assert!(
            listed.iter().any(|offer| offer["provider"] == provider),
            "{provider} listed"
        );
    }
    let prices: Vec<f64> = listed
        .iter()
        .map(|offer| offer["price_per_hour"].as_f64().expect("price"))
        .collect();
    assert!(prices.windows(2).all(|pair| pair[0] <= pair[1]), "cheapest first");

    let second = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances?page=2&page_size=3", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (second["page"].as_i64(), second["page_size"].as_i64()),
        (Some(2), Some(3))
    );
    let ids = |offers: &[Value]| offers.iter().map(|offer| offer["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(offers(&second)), ids(&listed[3..6]));

    // The seed's examples.
    let vast = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances?provider=vast.ai", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(offers(&vast).iter().all(|offer| offer["provider"] == "vast.ai"));
    assert_eq!(
        (vast["page"].as_i64(), vast["page_size"].as_i64()),
        (Some(1), Some(50))
    );
    let filtered = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances?min_vram=16&max_price=1.5", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(!offers(&filtered).is_empty());
    for offer in offers(&filtered) {
        assert!(offer["vram_gb"].as_i64().expect("vram") >= 16);
        assert!(offer["price_per_hour"].as_f64().expect("price") <= 1.5);
    }
    let model = expect_status(
        fleet
            .rest
            .get(
                "/api/v1/gpu/instances?gpu_model=4090&num_gpus=1&sort=vram&order=desc",
                Auth::Key(&key),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert!(!offers(&model).is_empty());
    assert!(offers(&model).iter().all(|offer| {
        offer["gpu_model"]
            .as_str()
            .is_some_and(|name| name.contains("4090"))
            && offer["num_gpus"] == 1
    }));

    let first = &listed[0];
    let path = format!(
        "/api/v1/gpu/instances/{}/{}",
        first["provider"].as_str().expect("provider"),
        first["id"].as_str().expect("id")
    );
    let one = expect_status(fleet.rest.get(&path, Auth::Key(&key)).await, StatusCode::OK).await;
    assert_eq!(one["data"]["id"], first["id"]);
    assert_eq!(
        (one["status"].as_str(), one["data"]["status"].as_str()),
        (Some("success"), Some("available"))
    );
    let missing = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances/vast.ai/999999999", Auth::Key(&key))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(missing["code"], "NOT_FOUND");
    expect_status(
        fleet.rest.get("/api/v1/gpu/instances", Auth::None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn bad_filters_are_400_with_a_code_and_field(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    for (query, field) in [
        ("min_vram=-1", "min_vram"),
        ("max_price=abc", "max_price"),
        ("max_price=-3", "max_price"),
        ("max_price=0", "max_price"),
        ("provider=aws", "provider"),
        ("page_size=100000", "page_size"),
        ("page_size=-5", "page_size"),
        ("page=-1", "page"),
        ("page=100001", "page"),
        ("num_gpus=many", "num_gpus"),
        ("sort=colour", "sort"),
    ] {
        let body = expect_status(
            fleet
                .rest
                .get(&format!("/api/v1/gpu/instances?{query}"), Auth::Key(&key))
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(body["code"], "VALIDATION_FAILED", "{query}");
        assert_eq!(body["field"], field, "{query}");
    }
    let body = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances/aws/1", Auth::Key(&key))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["field"], "provider");
}

async fn grpc_lists_looks_up_and_reports_provider_load(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    let listing = client
        .list_gpu_instances(authorized(
            &key,
            public::ListGpuInstancesRequest {
                provider: "io.net".to_owned(),
                min_vram: 40.0,
                max_price: 50.0,
                page_size: 20,
                ..Default::default()
            },
        ))
        .await
        .expect("listed")
        .into_inner();
    assert!(!listing.instances.is_empty());
    assert!(listing.total_count >= i32::try_from(listing.instances.len()).expect("small"));
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
    for instance in &listing.instances {
        assert_eq!(instance.provider, "io.net");
        assert!(instance.vram_gb >= 40 && instance.price_per_hour <= 50.0);
        assert!(instance.metadata.contains_key("hardware_id"));
    }
    let first = listing.instances[0].clone();
    let found = client
        .get_gpu_instance(authorized(
            &key,
            public::GetGpuInstanceRequest {
                provider: first.provider.clone(),
                instance_id: first.id.clone(),
            },
        ))
        .await
        .expect("found")
        .into_inner()
        .instance
        .expect("an instance");
    assert_eq!(found.id, first.id);

    let status = client
        .list_gpu_instances(authorized(
            &key,
            public::ListGpuInstancesRequest {
                min_vram: -1.0,
                ..Default::default()
            },
        ))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(code_of(&status), ErrorCode::ValidationFailed);
    assert_eq!(field_of(&status).as_deref(), Some("min_vram"));
    let status = client
        .list_gpu_instances(authorized(
            &key,
            public::ListGpuInstancesRequest {
                provider: "aws".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect_err("refused");
    assert_eq!(field_of(&status).as_deref(), Some("provider"));

    let load = client
        .get_load_info(authorized(
            &key,
            public::GetLoadInfoRequest {
                r#type: "provider".to_owned(),
            },
        ))
        .await
        .expect("provider load")
        .into_inner();
    let providers: Vec<&str> = load
        .provider_load
        .iter()
        .map(|load| load.provider.as_str())
        .collect();
    assert_eq!(providers, ["vast.ai", "io.net"]);
    assert!(
        load.provider_load.iter().all(|load| load.connections > 0),
        "{load:?}"
    );
}

async fn a_failing_provider_degrades_the_listing_and_health(mode: Mode) {
    let fleet = TestFleet::start_with(
        mode,
        &[
            ("CATALOG_CACHE_TTL", "200ms"),
            ("PROVIDER_RETRY_BACKOFF", "10ms"),
            ("PROVIDER_BREAKER_THRESHOLD", "100"),
        ],
    )
    .await;
    let key = user_key(&fleet).await;
    let health = expect_status(fleet.rest.get("/health", Auth::None).await, StatusCode::OK).await;
    assert_eq!(health["services"]["catalog"], "healthy");
    for provider in ["vast.ai", "io.net"] {
        assert_eq!(health["providers"][provider]["status"], "ok", "{health}");
        assert_eq!(health["providers"][provider]["simulated"], false);
    }
    let simulator = fleet.simulator.as_ref().expect("the test's simulator");
    simulator.set_faults(
        SimProvider::IoNet,
        Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    let mut listing = Value::Null;
    for _ in 0..100 {
        listing = expect_status(
            fleet.rest.get("/api/v1/gpu/instances", Auth::Key(&key)).await,
            StatusCode::OK,
        )
        .await;
        if listing["warnings"]
            .as_array()
            .is_some_and(|warnings| !warnings.is_empty())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let warning = listing["warnings"][0]
        .as_str()
        .expect("a warning naming the provider");
    assert!(warning.starts_with("io.net"), "{warning}");
    assert!(
        !offers(&listing).is_empty(),
        "the stale and vast.ai offers are still listed"
    );
    let health = expect_status(fleet.rest.get("/health", Auth::None).await, StatusCode::OK).await;
    assert_eq!(health["status"], "degraded");
    // One refresh fans out to dozens of io.net calls, so it may open the breaker by itself.
    let status = health["providers"]["io.net"]["status"]
        .as_str()
        .expect("a status");
    assert!(status == "degraded" || status == "open", "{health}");
    assert!(
        health["providers"]["io.net"]["last_error"]
            .as_str()
            .is_some_and(|error| error.contains("HTTP 500") || error.contains("circuit breaker is open")),
        "{health}"
    );
    // Embedded, the gateway's /metrics has every series; in the fleet the catalog serves its own.
    let metrics = match &fleet.catalog_metrics {
        Some(url) => reqwest::get(url)
            .await
            .expect("catalog metrics")
            .text()
            .await
            .expect("text"),
        None => fleet
            .rest
            .get("/metrics", Auth::None)
            .await
            .text()
            .await
            .expect("text"),
    };
    assert!(
        metrics.contains(r#"gpuproxy_provider_requests_total{provider="io.net",operation="available_replicas",outcome="server_error"}"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"gpuproxy_provider_breaker_state{provider="io.net"}"#));
    assert!(metrics.contains(r#"gpuproxy_provider_offers{provider="vast.ai"}"#));
    assert_eq!(mode == Mode::Fleet, fleet.catalog_metrics.is_some());
}

crate::in_both_modes!(
    rest_listing_filters_and_lookups,
    bad_filters_are_400_with_a_code_and_field,
    grpc_lists_looks_up_and_reports_provider_load,
    a_failing_provider_degrades_the_listing_and_health,
);

#[tokio::test]
async fn without_provider_keys_the_embedded_server_simulates_both_providers() {
    let fleet = TestFleet::start_with_builtin_simulator().await;
    let key = user_key(&fleet).await;
    let health = expect_status(fleet.rest.get("/health", Auth::None).await, StatusCode::OK).await;
    for provider in ["vast.ai", "io.net"] {
        assert_eq!(health["providers"][provider]["simulated"], true, "{health}");
    }
    let listing = expect_status(
        fleet.rest.get("/api/v1/gpu/instances", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    assert!(!offers(&listing).is_empty());
}
