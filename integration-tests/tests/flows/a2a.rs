//! A2A 1.0 over JSON-RPC: the official `a2a-sdk` driving cards, messages, a streamed reservation,
//! task listing, canceling and another user's task (`integration-tests/a2a/sdk_client.py`), and
//! the binding's edges with a plain HTTP client: 0.3 names and shapes, JSON-RPC errors, guard
//! rails refusing a task, and task events on `/ws`.

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status, run_script};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::in_both_modes;
use crate::rentals::{credit, fleet_with_admin, limit_hour, user_key};
use crate::websocket::{connect, next, send};

in_both_modes!(
    the_official_sdk_drives_the_agent,
    the_binding_answers_errors_and_both_dialects,
    a_refused_task_fails_naming_the_window_and_task_events_reach_the_socket,
    a_retried_message_starts_one_task_and_canceling_it_destroys_what_it_rented,
);

/// A fleet whose bootstrap admin can credit users, and a credited user's key.
async fn fleet_with_buyer(mode: Mode, extra: &[(&str, &str)]) -> (TestFleet, String, String, String) {
    let mut env = vec![("AGENT_PROGRESS_INTERVAL", "100ms")];
    env.extend_from_slice(extra);
    let (fleet, admin, email, key) = fleet_with_admin(mode, &env).await;
    credit(&fleet, &admin, &email, 500.0).await;
    (fleet, admin, email, key)
}

async fn the_official_sdk_drives_the_agent(mode: Mode) {
    let (fleet, _, _, key) = fleet_with_buyer(mode, &[]).await;
    let stranger = user_key(&fleet).await;
    let base = fleet.gateways[0].http.clone();
    run_script("a2a/sdk_client.py", vec![base, key, stranger]).await;
}

/// Sends one JSON-RPC request as `key` with `version` in `A2A-Version`, and returns the response.
async fn rpc(fleet: &TestFleet, key: &str, version: Option<&str>, request: Value) -> Value {
    let mut call = fleet.rest.request(Method::POST, "/api/v1/a2a", Auth::Key(key));
    if let Some(version) = version {
        call = call.header("A2A-Version", version);
    }
    let answered = call.json(&request).send().await.expect("answered");
    expect_status(answered, StatusCode::OK).await
}

fn send_message(method: &str, parts: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": method,
           "params": {"message": {"messageId": uuid::Uuid::now_v7().to_string(), "role": "ROLE_USER", "parts": parts}}})
}

async fn the_binding_answers_errors_and_both_dialects(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;

    let unknown = rpc(
        &fleet,
        &key,
        Some("1.0"),
        json!({"jsonrpc": "2.0", "id": "x", "method": "Nope"}),
    )
    .await;
    assert_eq!(
        (unknown["id"].as_str(), unknown["error"]["code"].as_i64()),
        (Some("x"), Some(-32601)),
        "{unknown}"
    );
    let version = rpc(
        &fleet,
        &key,
        Some("2.0"),
        send_message("SendMessage", json!([{"text": "get_credits"}])),
    )
    .await;
    assert_eq!(version["error"]["code"], -32009, "{version}");
    let no_message = rpc(
        &fleet,
        &key,
        Some("1.0"),
        json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}}),
    )
    .await;
    assert_eq!(no_message["error"]["code"], -32602, "{no_message}");
    let bad_arguments = rpc(
        &fleet,
        &key,
        Some("1.0"),
        send_message(
            "SendMessage",
            json!([{"data": {"action": "reserve_gpus", "arguments": {"count": "many"}}}]),
        ),
    )
    .await;
    assert_eq!(
        (
            bad_arguments["error"]["code"].as_i64(),
            bad_arguments["error"]["data"]["code"].as_str()
        ),
        (Some(-32602), Some("VALIDATION_FAILED")),
        "{bad_arguments}"
    );
    let missing = rpc(&fleet, &key, Some("1.0"), json!({"jsonrpc": "2.0", "id": 2, "method": "GetTask", "params": {"id": "01a25318-0000-7000-8000-000000000000"}})).await;
    assert_eq!(missing["error"]["code"], -32001, "{missing}");
    let push = rpc(
        &fleet,
        &key,
        Some("1.0"),
        json!({"jsonrpc": "2.0", "id": 3, "method": "CreateTaskPushNotificationConfig", "params": {}}),
    )
    .await;
    assert_eq!(push["error"]["code"], -32003, "{push}");

    // Prose names no skill: the agent answers a message listing its skills, and runs nothing.
    let prose = rpc(
        &fleet,
        &key,
        Some("1.0"),
        send_message("SendMessage", json!([{"text": "find me a GPU"}])),
    )
    .await;
    assert_eq!(prose["result"]["message"]["role"], "ROLE_AGENT", "{prose}");
    assert!(
        prose["result"]["message"]["parts"][1]["data"]["skills"]
            .as_array()
            .is_some_and(|skills| skills.len() >= 10)
    );

    // 1.0: a text part starting with the skill; integers may arrive as doubles.
    let v1 = rpc(
        &fleet,
        &key,
        Some("1.0"),
        send_message(
            "SendMessage",
            json!([{"text": "list_gpu_instances {\"page_size\": 2.0}"}]),
        ),
    )
    .await;
    let task = &v1["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{v1}");
    assert_eq!(
        task["artifacts"][0]["parts"][0]["data"]["offers"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(task["history"][0]["role"], "ROLE_USER");

    // 0.3: kinds on everything, lowercase states, the result bare; the same task read in 1.0.
    let v03 = rpc(
        &fleet,
        &key,
        None,
        json!({"jsonrpc": "2.0", "id": 8, "method": "message/send", "params": {"message": {
            "kind": "message", "messageId": "m-03", "role": "user",
            "parts": [{"kind": "data", "data": {"skill": "gpu.list", "parameters": {"page_size": 1}}}]}}}),
    )
    .await;
    let legacy = &v03["result"];
    assert_eq!(
        (legacy["kind"].as_str(), legacy["status"]["state"].as_str()),
        (Some("task"), Some("completed")),
        "{v03}"
    );
    assert_eq!(legacy["artifacts"][0]["parts"][0]["kind"], "data");
    assert_eq!(legacy["history"][0]["parts"][0]["kind"], "data");
    let id = legacy["id"].as_str().expect("an id");
    let read = rpc(
        &fleet,
        &key,
        Some("1.0"),
        json!({"jsonrpc": "2.0", "id": 9, "method": "GetTask", "params": {"id": id, "historyLength": 0}}),
    )
    .await;
    assert_eq!(
        read["result"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{read}"
    );
    assert!(
        read["result"].get("history").is_none(),
        "historyLength 0 leaves the history out"
    );
    // A retried message (same messageId) answers the same task.
    let again = rpc(
        &fleet,
        &key,
        None,
        json!({"jsonrpc": "2.0", "id": 10, "method": "message/send", "params": {"message": {
            "kind": "message", "messageId": "m-03", "role": "user",
            "parts": [{"kind": "data", "data": {"skill": "gpu.list", "parameters": {"page_size": 1}}}]}}}),
    )
    .await;
    assert_eq!(again["result"]["id"], id, "{again}");
    let listed = rpc(
        &fleet,
        &key,
        Some("1.0"),
        json!({"jsonrpc": "2.0", "id": 11, "method": "ListTasks", "params": {"pageSize": 1}}),
    )
    .await;
    assert_eq!(
        (
            listed["result"]["tasks"].as_array().map(Vec::len),
            listed["result"]["totalSize"].as_i64()
        ),
        (Some(1), Some(2)),
        "{listed}"
    );
    assert!(
        listed["result"]["nextPageToken"]
            .as_str()
            .is_some_and(|token| !token.is_empty())
    );
    let ended = rpc(
        &fleet,
        &key,
        Some("1.0"),
        json!({"jsonrpc": "2.0", "id": 12, "method": "SubscribeToTask", "params": {"id": id}}),
    )
    .await;
    assert_eq!(ended["error"]["code"], -32004, "{ended}");
}

async fn a_refused_task_fails_naming_the_window_and_task_events_reach_the_socket(mode: Mode) {
    let (fleet, admin, email, key) = fleet_with_buyer(
        mode,
        &[("CREDITS_ENFORCED", "true"), ("GUARDRAILS_ENABLED", "true")],
    )
    .await;
    limit_hour(&fleet, &admin, &email, 0.01).await;
    let mut socket = connect(&fleet, Some(&key)).await;
    send(
        &mut socket,
        json!({"type": "subscribe", "channels": ["agent_tasks"]}),
    )
    .await;
    assert_eq!(next(&mut socket).await["type"], "subscribed");

    let refused = rpc(
        &fleet,
        &key,
        Some("1.0"),
        send_message(
            "SendMessage",
            json!([{"data": {"action": "reserve_gpus", "arguments": {"count": 1}}}]),
        ),
    )
    .await;
    let task = &refused["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_FAILED", "{refused}");
    let error = &task["status"]["message"]["parts"][1]["data"]["error"];
    assert_eq!(error["code"], "SPENDING_LIMIT_EXCEEDED", "{refused}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|reason| reason.contains("60min")),
        "names the window: {refused}"
    );

    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("agent.task.failed") {
        let event = next(&mut socket).await;
        assert_eq!(event["type"], "agent_tasks", "{event}");
        assert_eq!(event["payload"]["data"]["task_id"], task["id"], "{event}");
        seen.push(event["payload"]["event"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(
        seen.first().map(String::as_str),
        Some("agent.task.working"),
        "{seen:?}"
    );
}

async fn a_retried_message_starts_one_task_and_canceling_it_destroys_what_it_rented(mode: Mode) {
    // The instance list is polled until the destroy lands: no rate limit in the way.
    let (fleet, _, _, key) = fleet_with_buyer(mode, &[("RATE_LIMIT_PER_MINUTE", "100000")]).await;
    let mut message = send_message(
        "SendMessage",
        json!([{"data": {"action": "reserve_gpus", "arguments": {"count": 1, "config": {"env": {"HF_TOKEN": "hf_secret"}}}}}]),
    );
    message["params"]["configuration"] = json!({"returnImmediately": true});
    let (first, second) = tokio::join!(
        rpc(&fleet, &key, Some("1.0"), message.clone()),
        rpc(&fleet, &key, Some("1.0"), message)
    );
    let id = first["result"]["task"]["id"].as_str().expect("a task").to_owned();
    assert_eq!(
        second["result"]["task"]["id"],
        id.as_str(),
        "the same message is one task: {first} {second}"
    );
    assert_eq!(
        first["result"]["task"]["metadata"]["arguments"]["config"]["env"]["HF_TOKEN"], "[redacted]",
        "a task keeps no secret: {first}"
    );
    let canceled = rpc(
        &fleet,
        &key,
        Some("1.0"),
        json!({"jsonrpc": "2.0", "id": 1, "method": "CancelTask", "params": {"id": id}}),
    )
    .await;
    assert_eq!(
        canceled["result"]["status"]["state"], "TASK_STATE_CANCELED",
        "{canceled}"
    );

    // What the reservation rented is destroyed once it returns; nothing stays running.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let mine = expect_status(
            fleet
                .rest
                .request(Method::POST, "/api/v1/a2a", Auth::Key(&key))
                .json(&json!({"action": "list_my_instances", "parameters": {"include_ended": true}}))
                .send()
                .await
                .expect("answered"),
            StatusCode::OK,
        )
        .await;
        let statuses: Vec<String> = mine["result"]["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .map(|instance| instance["status"].as_str().unwrap_or_default().to_owned())
            .collect();
        if !statuses.is_empty() && statuses.iter().all(|status| status == "terminated") {
            assert_eq!(statuses.len(), 1, "one rent for the retried message");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still rented after the cancel: {statuses:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
