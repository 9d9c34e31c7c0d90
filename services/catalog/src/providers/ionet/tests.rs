//! Unit tests of the io.net client: spec examples, ids and statuses.

use super::deployments::{deployment_id, status_of};
use super::*;
use crate::instance::InstanceStatus;

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let value = gpuproxy_provider_sim::fixture(name).expect("a spec fixture");
    serde_json::from_value(value).unwrap_or_else(|error| panic!("{name}: {error}"))
}

#[test]
fn the_spec_examples_parse_and_normalise() {
    let hardware: wire::Data<wire::HardwareList> = fixture("ionet/hardware");
    let h100 = &hardware.data.hardware[0];
    assert_eq!((h100.hardware_id, h100.max_gpus_per_container), (203, 8));
    let locations: wire::Data<Vec<wire::Location>> = fixture("ionet/available_replicas");
    let price: wire::Data<wire::Price> = fixture("ionet/price");
    let quote = Quote {
        per_hour: price.data.total_cost_usdc,
        location_id: 9,
    };
    let listed = offer(h100, 8, &locations.data[0], quote).expect("an offer");
    assert_eq!(listed.offer_id, "203-9-8");
    assert_eq!((listed.vram_gb, listed.num_gpus), (80, 8));
    assert_eq!(listed.location, "Germany, DE");
    assert_eq!(listed.price_per_hour.micros(), 27_000_000);

    let deployed: wire::DeployResponse = fixture("ionet/deploy_response");
    assert_eq!(deployed.deployment_id, "3fa85f64-5717-4562-b3fc-2c963f66afa6");
    let deployment: wire::Data<wire::Deployment> = fixture("ionet/deployment");
    assert_eq!(status_of(&deployment.data.status), InstanceStatus::Running);
    assert_eq!(
        deployment
            .data
            .container_config
            .and_then(|config| config.traffic_port),
        Some(8000)
    );
    let workers: wire::Data<wire::Workers> = fixture("ionet/containers");
    assert_eq!(
        workers.data.workers[0].public_url.as_deref(),
        Some("https://example.invalid")
    );
    let list: wire::Data<wire::DeploymentList> = fixture("ionet/deployments");
    assert_eq!(list.data.total, 1);
    let destroyed: wire::DeployResponse = fixture("ionet/destroy_response");
    assert!(!destroyed.deployment_id.is_empty());
}

#[test]
fn offer_ids_round_trip_and_junk_is_refused() {
    let key = OfferKey::parse("203-9-8").expect("valid");
    assert_eq!(key.id(), "203-9-8");
    assert_eq!(OfferKey::parse("203-9"), None);
    assert_eq!(OfferKey::parse("203-9-0"), None);
    assert_eq!(OfferKey::parse("a-b-c"), None);
}

#[test]
fn statuses_compare_case_insensitively() {
    assert_eq!(status_of("RUNNING"), InstanceStatus::Running);
    assert_eq!(status_of("deployment requested"), InstanceStatus::Pending);
    assert_eq!(status_of("termination requested"), InstanceStatus::Stopping);
    assert_eq!(status_of("destroyed"), InstanceStatus::Terminated);
    assert_eq!(status_of("failed"), InstanceStatus::Failed);
    assert_eq!(status_of("who knows"), InstanceStatus::Unknown);
}

#[test]
fn only_uuid_like_ids_reach_a_path() {
    assert!(deployment_id("3fa85f64-5717-4562-b3fc-2c963f66afa6").is_ok());
    assert!(deployment_id("../../admin").is_err());
    assert!(deployment_id("").is_err());
}
