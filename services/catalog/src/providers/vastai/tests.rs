//! Unit tests of the vast.ai client: spec examples, malformed offers, units and statuses.

use super::*;

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let value = gpuproxy_provider_sim::fixture(name).expect("a spec fixture");
    // From text, as on the wire: raw offers cannot be read back out of a parsed value.
    serde_json::from_str(&value.to_string()).unwrap_or_else(|error| panic!("{name}: {error}"))
}

#[test]
fn the_spec_examples_parse_and_normalise() {
    let search: wire::SearchResponse = fixture("vastai/offers");
    let offer = usable_offers(&search).into_iter().next().expect("an offer");
    assert_eq!(
        (offer.gpu_model.as_str(), offer.vram_gb, offer.num_gpus),
        ("RTX 4090", 24, 4)
    );
    assert_eq!(offer.price_per_hour.micros(), 1_613_300);
    assert_eq!(offer.country, "US");
    assert_eq!(offer.metadata_map()["machine_id"], "88888");
    assert_eq!(offer.metadata_map()["vram_mb"], "24564");

    let created: wire::CreateResponse = fixture("vastai/create_response");
    assert_eq!(created.new_contract, Some(7_835_610));

    let shown: wire::ShowResponse = fixture("vastai/instance_show");
    let shown = instance(shown.instances.expect("an instance"));
    assert_eq!(shown.status, InstanceStatus::Running);
    assert_eq!(shown.endpoints["8000"], "http://192.0.2.45:20001");
    assert_eq!(shown.label, "job-1");

    let listed: wire::ListResponse = fixture("vastai/instances_list");
    assert!(!listed.instances.is_empty());
    let destroyed: wire::SuccessResponse = fixture("vastai/destroy_response");
    assert_eq!(destroyed.success, Some(true));
}

#[test]
fn one_malformed_offer_is_skipped_not_fatal() {
    let body = r#"{"offers": [
        {"id": "not-a-number", "gpu_name": "RTX 4090", "dph_total": 0.4},
        {"id": 2, "gpu_name": "RTX 4090", "dph_total": -1},
        {"id": 3, "gpu_name": "RTX 4090", "num_gpus": 1, "gpu_ram": 24564, "dph_total": 0.4}
    ]}"#;
    let search: wire::SearchResponse = serde_json::from_str(body).expect("the envelope parses");
    let offers = usable_offers(&search);
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0].offer_id, "3");
}

#[test]
fn memory_rounds_to_the_marketed_size() {
    assert_eq!(mb_to_gb(24564.0), 24);
    assert_eq!(mb_to_gb(81920.0), 80);
    assert_eq!(mb_to_gb(0.0), 0);
}

#[test]
fn statuses_map_onto_the_lifecycle() {
    assert_eq!(status_of(None, Some("running"), None), InstanceStatus::Pending);
    assert_eq!(status_of(Some("loading"), None, None), InstanceStatus::Loading);
    assert_eq!(
        status_of(Some("running"), Some("running"), None),
        InstanceStatus::Running
    );
    assert_eq!(
        status_of(Some("running"), Some("stopped"), None),
        InstanceStatus::Stopping
    );
    assert_eq!(status_of(Some("exited"), None, None), InstanceStatus::Failed);
    assert_eq!(
        status_of(Some("running"), None, Some("unloaded")),
        InstanceStatus::Terminated
    );
    assert_eq!(status_of(Some("weird"), None, None), InstanceStatus::Unknown);
}
