//! The catalog and the dispatcher agree: every listed action runs, nothing else does, and each
//! schema refuses what its action refuses.

use std::collections::BTreeSet;
use std::time::Duration;

use gpuproxy_domain::UserId;
use serde_json::json;
use tokio::sync::mpsc;

use super::*;
use crate::Actions;
use crate::actions::Timeouts;

/// Actions whose services are nowhere: only calls refused before any service is asked can answer.
fn unconnected() -> Actions {
    let nowhere = || {
        gpuproxy_server::connect_lazy("http://127.0.0.1:9", Duration::from_millis(50), None)
            .expect("a channel")
    };
    Actions::new(
        nowhere(),
        nowhere(),
        nowhere(),
        nowhere(),
        Timeouts {
            call: Duration::from_millis(200),
            renting: Duration::from_millis(200),
            progress_interval: Duration::from_millis(10),
        },
    )
}

const CALLER: crate::Caller = crate::Caller {
    user_id: UserId::from_u128(7),
    admin: false,
};

#[test]
fn names_are_unique_and_schemas_are_closed_objects() {
    let names: BTreeSet<&str> = actions().iter().map(|action| action.name).collect();
    assert_eq!(names.len(), actions().len());
    for action in actions() {
        assert_eq!(action.input_schema["type"], "object", "{}", action.name);
        assert_eq!(
            action.input_schema["additionalProperties"], false,
            "{}",
            action.name
        );
        assert_eq!(action.output_schema["type"], "object", "{}", action.name);
        assert!(action.input_schema.get("$schema").is_none());
        assert!(!action.description.is_empty());
    }
    let spending: Vec<&str> = actions()
        .iter()
        .filter(|action| action.spends_money())
        .map(|action| action.name)
        .collect();
    assert_eq!(
        spending,
        ["create_gpu_instance", "reserve_gpus", "proxy_inference_request"]
    );
    let in_gateway: Vec<&str> = actions()
        .iter()
        .filter(|action| action.runs_in_gateway())
        .map(|action| action.name)
        .collect();
    assert_eq!(in_gateway, ["proxy_inference_request"]);
    assert!(action("destroy_gpu_instance").is_some_and(ActionSpec::destructive));
    assert!(action("list_gpu_instances").is_some_and(|action| action.read_only() && action.idempotent()));
}

#[test]
fn aliases_name_one_action_each() {
    let mut seen = BTreeSet::new();
    for spec in actions() {
        seen.insert(spec.name);
    }
    for spec in actions() {
        for alias in spec.aliases {
            assert!(seen.insert(alias), "{alias} names two actions");
            assert_eq!(action_named(alias).map(|found| found.name), Some(spec.name));
        }
    }
    assert_eq!(
        action_named("gpu.list").map(|found| found.name),
        Some("list_gpu_instances")
    );
    assert!(action_named("gpu.mine.all").is_none());
}

#[tokio::test]
async fn every_listed_action_is_dispatched_and_nothing_else() {
    let actions = unconnected();
    let (progress, _reports) = mpsc::channel(4);
    for spec in super::actions() {
        let refused = actions
            .call(CALLER, spec.name, json!({"not_a_field": 1}), "", &progress)
            .await;
        assert!(
            matches!(refused, Err(CallError::InvalidArguments(ref message)) if message.contains("not_a_field")),
            "{}: {refused:?}",
            spec.name
        );
    }
    let unknown = actions
        .call(CALLER, "mine_bitcoin", json!({}), "", &progress)
        .await;
    assert_eq!(unknown, Err(CallError::UnknownAction("mine_bitcoin".to_owned())));
}

#[tokio::test]
async fn required_fields_and_types_are_checked_before_any_service_is_asked() {
    let actions = unconnected();
    let (progress, _reports) = mpsc::channel(4);
    for (name, arguments) in [
        ("create_gpu_instance", json!({"provider": "vast.ai"})),
        ("reserve_gpus", json!({"count": "two"})),
        ("check_spending_limit", json!({})),
        ("set_lb_strategy", json!({"strategy": 3})),
    ] {
        let refused = actions.call(CALLER, name, arguments, "", &progress).await;
        assert!(
            matches!(refused, Err(CallError::InvalidArguments(_))),
            "{name}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_service_is_an_action_error_not_a_refused_call() {
    let actions = unconnected();
    let (progress, _reports) = mpsc::channel(4);
    let answered = actions
        .call(CALLER, "get_credits", serde_json::Value::Null, "", &progress)
        .await
        .expect("the call ran");
    let error = answered.expect_err("nothing answers");
    assert!(
        matches!(
            error.code,
            gpuproxy_errors::ErrorCode::Unavailable | gpuproxy_errors::ErrorCode::Timeout
        ),
        "{error:?}"
    );
}
