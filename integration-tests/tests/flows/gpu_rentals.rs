//! Renting through the gateway: one instance, reservations of many, ownership, bad input, events,
//! over REST and gRPC.

use std::time::Duration;

use futures::StreamExt;
use gpuproxy_errors::{ErrorCode, code_of};
use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use gpuproxy_proto::gpuproxy::v1 as public;
use gpuproxy_proto::gpuproxy::v1::gpu_proxy_service_client::GpuProxyServiceClient;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::rentals::{destroy_all, reserve, running, user_key};

fn authorized<T>(key: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-api-key", key.parse().expect("value"));
    request
}

async fn cheapest_offer(fleet: &TestFleet, key: &str, provider: &str) -> Value {
    let listed = expect_status(
        fleet
            .rest
            .get(
                &format!("/api/v1/gpu/instances?provider={provider}&page_size=1"),
                Auth::Key(key),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    listed["data"][0].clone()
}

async fn an_offer_is_rented_run_and_destroyed_by_its_owner_only(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let alice = user_key(&fleet).await;
    let mallory = user_key(&fleet).await;
    let offer = cheapest_offer(&fleet, &alice, "vast.ai").await;
    let path = format!(
        "/api/v1/gpu/instances/vast.ai/{}",
        offer["id"].as_str().expect("id")
    );
    // The seed's example body.
    let created = expect_status(
        fleet
            .rest
            .post(
                &path,
                Auth::Key(&alice),
                &json!({"image": "nvidia/cuda:12.0.0-base-ubuntu22.04"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["status"], "success");
    let instance = &created["data"];
    assert_eq!(instance["offer_id"], offer["id"]);
    assert_eq!(instance["contract_id"], instance["instance_id"]);
    let instance_id = instance["instance_id"].as_str().expect("an id").to_owned();

    let running = running(&fleet, &alice, 1).await;
    assert_eq!(running[0]["instance_id"], instance_id.as_str());
    assert!(
        running[0]["endpoint"]
            .as_str()
            .is_some_and(|url| url.starts_with("http://"))
    );
    let own = format!("/api/v1/gpu/instances/vast.ai/{instance_id}");
    let looked_up = expect_status(fleet.rest.get(&own, Auth::Key(&alice)).await, StatusCode::OK).await;
    assert_eq!(looked_up["data"]["status"], "running");
    assert_eq!(looked_up["data"]["metadata"]["contract_id"], instance_id.as_str());

    // Another user sees nothing and destroys nothing: 404, as if it did not exist.
    let hidden = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances/mine", Auth::Key(&mallory))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(hidden["count"], 0);
    let destroy = fleet
        .rest
        .request(Method::DELETE, &own, Auth::Key(&mallory))
        .send()
        .await
        .expect("answered");
    let refused = expect_status(destroy, StatusCode::NOT_FOUND).await;
    assert_eq!(refused["code"], "NOT_FOUND");
    let lookup = expect_status(
        fleet.rest.get(&own, Auth::Key(&mallory)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(lookup["code"], "NOT_FOUND");

    let destroy = fleet
        .rest
        .request(Method::DELETE, &own, Auth::Key(&alice))
        .send()
        .await
        .expect("answered");
    let destroyed = expect_status(destroy, StatusCode::OK).await;
    assert_eq!(destroyed["data"]["terminated"], true);
    let simulator = fleet.simulator.as_ref().expect("a simulator");
    assert_eq!(
        simulator.instance_count(gpuproxy_provider_sim::SimProvider::VastAi),
        0
    );
}

async fn reservations_over_rest_are_bounded_listed_and_released(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    for count in [0, 17] {
        let body = json!({"count": count, "config": {"image": "img"}});
        let refused = expect_status(
            fleet
                .rest
                .post("/api/v1/gpu/instances/reserve", Auth::Key(&key), &body)
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(refused["code"], "VALIDATION_FAILED");
    }
    let too_many = json!({"count": 16, "filters": {"gpu_model": "H200", "max_price": 0.01}});
    let refused = expect_status(
        fleet
            .rest
            .post("/api/v1/gpu/instances/reserve", Auth::Key(&key), &too_many)
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(refused["code"], "INSUFFICIENT_OFFERS");
    let malformed = json!({"count": "many"});
    let refused = expect_status(
        fleet
            .rest
            .post("/api/v1/gpu/instances/reserve", Auth::Key(&key), &malformed)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(refused["code"], "VALIDATION_FAILED");
    let simulator = fleet.simulator.as_ref().expect("a simulator");
    let rented = || {
        simulator.instance_count(gpuproxy_provider_sim::SimProvider::VastAi)
            + simulator.instance_count(gpuproxy_provider_sim::SimProvider::IoNet)
    };
    assert_eq!(rented(), 0, "bad input rents nothing");

    let done = reserve(&fleet, &key, 4, "").await;
    assert_eq!(
        (done["count"].as_u64(), done["requested"].as_u64()),
        (Some(4), Some(4))
    );
    assert_eq!(done["errors"], json!([]));
    for entry in done["reserved"].as_array().expect("reserved") {
        assert!(entry["contract_id"].is_string() && entry["price"].as_f64().is_some_and(|price| price > 0.0));
        assert!(entry["vram"].as_i64().is_some_and(|vram| vram > 0));
    }
    assert_eq!(rented(), 4);
    let listed = expect_status(
        fleet.rest.get("/api/v1/gpu/reservations", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(listed["data"][0]["reservation_id"], done["reservation_id"]);
    let release = fleet
        .rest
        .request(
            Method::DELETE,
            &format!(
                "/api/v1/gpu/reservations/{}",
                done["reservation_id"].as_str().expect("id")
            ),
            Auth::Key(&key),
        )
        .send()
        .await
        .expect("answered");
    let released = expect_status(release, StatusCode::OK).await;
    assert_eq!(released["data"]["released"], 4);
    assert_eq!(rented(), 0);
}

async fn reservations_and_instances_over_grpc(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    let mut client = GpuProxyServiceClient::new(fleet.grpc_channel().await);
    let status = client
        .reserve_gp_us(authorized(
            &key,
            public::ReserveGpUsRequest {
                count: 17,
                ..Default::default()
            },
        ))
        .await
        .expect_err("refused");
    assert_eq!(
        (status.code(), code_of(&status)),
        (tonic::Code::InvalidArgument, ErrorCode::ValidationFailed)
    );

    let reserved = client
        .reserve_gp_us(authorized(
            &key,
            public::ReserveGpUsRequest {
                count: 2,
                provider: "io.net".to_owned(),
                min_vram: 16.0,
                max_price: 50.0,
            },
        ))
        .await
        .expect("reserved")
        .into_inner();
    assert_eq!(reserved.reserved_count, 2, "{}", reserved.message);
    for instance in &reserved.reserved_instances {
        assert_eq!(instance.metadata.get("contract_id"), Some(&instance.id));
        assert!(instance.vram_gb >= 16 && instance.provider == "io.net");
    }
    let offer = cheapest_offer(&fleet, &key, "vast.ai").await;
    let created = client
        .create_gpu_instance(authorized(
            &key,
            public::CreateGpuInstanceRequest {
                provider: "vast.ai".to_owned(),
                instance_id: offer["id"].as_str().expect("id").to_owned(),
                image: "pytorch/pytorch:latest".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("created")
        .into_inner();
    let found = client
        .get_gpu_instance(authorized(
            &key,
            public::GetGpuInstanceRequest {
                provider: "vast.ai".to_owned(),
                instance_id: created.instance_id.clone(),
            },
        ))
        .await
        .expect("found")
        .into_inner()
        .instance
        .expect("an instance");
    assert_eq!(
        found.metadata.get("offer_id"),
        offer["id"].as_str().map(str::to_owned).as_ref()
    );
    running(&fleet, &key, 3).await;

    let strategy = client
        .set_load_balancer_strategy(authorized(
            &key,
            public::SetLoadBalancerStrategyRequest {
                strategy: "least_connections".to_owned(),
            },
        ))
        .await
        .expect("switched")
        .into_inner();
    assert!(strategy.success);
    let refused = client
        .set_load_balancer_strategy(authorized(
            &key,
            public::SetLoadBalancerStrategyRequest {
                strategy: "fastest".to_owned(),
            },
        ))
        .await
        .expect_err("not a strategy");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let load = client
        .get_load_info(authorized(
            &key,
            public::GetLoadInfoRequest {
                r#type: "all".to_owned(),
            },
        ))
        .await
        .expect("loads")
        .into_inner();
    assert_eq!(load.current_strategy, "least_connections");
    assert_eq!(load.server_load.len(), 3);
    assert_eq!(load.provider_load.len(), 2);

    let destroyed = client
        .destroy_gpu_instance(authorized(
            &key,
            public::DestroyGpuInstanceRequest {
                provider: "vast.ai".to_owned(),
                instance_id: created.instance_id,
            },
        ))
        .await
        .expect("destroyed")
        .into_inner();
    assert!(destroyed.success);
    destroy_all(&fleet, &key).await;
}

#[tokio::test]
async fn rental_events_reach_nats_subscribers() {
    let fleet = TestFleet::start(Mode::Fleet).await;
    let nats = fleet.nats.clone().expect("the fleet uses NATS");
    let client = async_nats::connect(nats.url.as_deref().expect("url"))
        .await
        .expect("nats is running");
    let mut subscriber = client
        .subscribe(format!("{}.>", nats.subject_prefix))
        .await
        .expect("subscribe");
    let key = user_key(&fleet).await;
    let done = reserve(&fleet, &key, 2, "io.net").await;
    destroy_all(&fleet, &key).await;

    let mut names = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !names
        .iter()
        .filter(|name: &&String| *name == "instance.destroyed")
        .count()
        .eq(&2)
    {
        let message = tokio::time::timeout_at(deadline, subscriber.next())
            .await
            .expect("events arrive")
            .expect("subscription open");
        let event: Value = serde_json::from_slice(&message.payload).expect("JSON");
        let name = event["event"].as_str().expect("a name").to_owned();
        if name == "reservation.created" {
            assert_eq!(event["data"]["reservation_id"], done["reservation_id"]);
            assert_eq!(event["data"]["instance_ids"].as_array().map(Vec::len), Some(2));
        }
        if name.starts_with("instance.") {
            assert_eq!(
                message.subject.as_str(),
                format!("{}.{name}", nats.subject_prefix)
            );
        }
        names.push(name);
    }
    for expected in ["instance.created", "reservation.created", "instance.destroyed"] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} in {names:?}"
        );
    }
}

crate::in_both_modes!(
    an_offer_is_rented_run_and_destroyed_by_its_owner_only,
    reservations_over_rest_are_bounded_listed_and_released,
    reservations_and_instances_over_grpc,
);
