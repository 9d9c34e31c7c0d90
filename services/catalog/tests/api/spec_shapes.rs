//! What the clients send matches the shapes in `shared/specs/`: every key they put in a request body
//! appears in the spec's example with the same JSON type. (That the clients read the spec's response
//! examples is checked by the clients' unit tests, and that the simulator answers in those shapes by
//! the simulator's own tests; the three together keep the clients and the simulator from drifting
//! together away from the real APIs.)

use gpuproxy_catalog::{CreateRequest, Query};
use gpuproxy_domain::Provider;
use gpuproxy_provider_sim::{SimProvider, fixture, shape_mismatches};
use serde_json::Value;

use crate::helpers::Harness;

/// Free-form maps (environment variables) hold the caller's keys, not the spec's.
fn without_free_maps(mut body: Value) -> Value {
    if let Some(object) = body.as_object_mut() {
        object.remove("env");
        object.remove("env_variables");
        if let Some(config) = object.get_mut("container_config").and_then(Value::as_object_mut) {
            config.remove("env_variables");
        }
    }
    body
}

fn body_of(harness: &Harness, provider: SimProvider, method: &str, path_part: &str) -> Value {
    harness
        .sim
        .requests(provider)
        .into_iter()
        .find(|request| request.method == method && request.path.contains(path_part))
        .and_then(|request| request.body)
        .unwrap_or_else(|| panic!("no {method} {path_part} request with a body was recorded"))
}

#[tokio::test]
async fn the_clients_send_only_documented_keys_and_types() {
    let harness = Harness::start().await.warmed().await;
    let vast_offer = harness
        .catalog
        .list(&Query {
            provider: Some(Provider::VastAi),
            ..Query::default()
        })
        .await
        .offers[0]
        .offer_id
        .clone();
    let ionet_offer = harness
        .catalog
        .list(&Query {
            provider: Some(Provider::IoNet),
            ..Query::default()
        })
        .await
        .offers[0]
        .offer_id
        .clone();
    for (provider, offer_id, env) in [
        (Provider::VastAi, vast_offer, ("HF_TOKEN", "x")),
        (Provider::IoNet, ionet_offer, ("MODEL", "x")),
    ] {
        let request = CreateRequest {
            offer_id,
            image: "docker.io/org/image:tag".to_owned(),
            env: [(env.0.to_owned(), env.1.to_owned())].into(),
            ports: vec![8000],
            disk_gb: 10,
            label: "job-1".to_owned(),
        };
        harness
            .catalog
            .create_instance(provider, &request)
            .await
            .expect("rented");
    }

    let search = body_of(&harness, SimProvider::VastAi, "POST", "/api/v0/bundles/");
    let expected = fixture("vastai/search_request").expect("fixture");
    assert_eq!(
        shape_mismatches(&search, &expected),
        Vec::<String>::new(),
        "{search}"
    );

    let create = body_of(&harness, SimProvider::VastAi, "PUT", "/api/v0/asks/");
    assert!(
        create["env"]
            .as_object()
            .is_some_and(|env| env.values().all(Value::is_string))
    );
    let expected = without_free_maps(fixture("vastai/create_request").expect("fixture"));
    assert_eq!(
        shape_mismatches(&without_free_maps(create.clone()), &expected),
        Vec::<String>::new(),
        "{create}"
    );

    let deploy = body_of(&harness, SimProvider::IoNet, "POST", "/caas/deploy");
    assert_eq!(deploy["container_config"]["env_variables"]["MODEL"], "x");
    let expected = without_free_maps(fixture("ionet/deploy_request").expect("fixture"));
    assert_eq!(
        shape_mismatches(&without_free_maps(deploy.clone()), &expected),
        Vec::<String>::new(),
        "{deploy}"
    );

    // Auth travels the documented way: a bearer token to vast.ai, x-api-key to io.net.
    for recorded in harness.sim.requests(SimProvider::VastAi) {
        assert!(recorded.headers.contains_key("authorization"), "{recorded:?}");
        assert!(
            !recorded.query.as_deref().unwrap_or_default().contains("api_key"),
            "{recorded:?}"
        );
    }
    for recorded in harness.sim.requests(SimProvider::IoNet) {
        assert!(recorded.headers.contains_key("x-api-key"), "{recorded:?}");
        assert!(!recorded.headers.contains_key("authorization"), "{recorded:?}");
    }
}
