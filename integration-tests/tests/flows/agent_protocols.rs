//! The agent protocols of seed 003 over the one action catalog: each seed sample answered in its
//! protocol's own terms (sent as curl sends it, with no JSON content type), malformed messages,
//! the unified endpoint's detection, discovery, and a spending refusal as FIPA `refuse`, KQML
//! `sorry` and A2A `failed`.

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::in_both_modes;
use crate::rentals::{credit, fleet_with_admin, limit_hour, user_key};

in_both_modes!(
    each_protocol_answers_in_its_own_terms,
    spending_refusals_are_refuse_sorry_and_failed,
    the_contract_net_rents_exactly_the_accepted_proposal,
);

/// Sends `message` as curl's `-d` would: the form content type, the body JSON.
async fn send(fleet: &TestFleet, path: &str, key: &str, message: &Value) -> reqwest::Response {
    fleet
        .rest
        .request(Method::POST, path, Auth::Key(key))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(message.to_string())
        .send()
        .await
        .expect("answered")
}

async fn reply(fleet: &TestFleet, path: &str, key: &str, message: &Value) -> Value {
    expect_status(send(fleet, path, key, message).await, StatusCode::OK).await
}

fn a2a_sample() -> Value {
    json!({"action": "gpu.list", "from_agent": "my-agent", "parameters": {"provider": "vast.ai"}})
}

fn acp_sample() -> Value {
    json!({"header": {"sender": "my-agent", "message_type": "command", "message_id": "m-1"},
           "payload": {"command": "gpu.list", "parameters": {"provider": "all"}}})
}

fn fipa_sample() -> Value {
    json!({"performative": "query-ref", "sender": {"name": "my-agent"},
           "receiver": [{"name": "aiserve-gpuproxy"}], "content": {"query": "gpu-instances"},
           "conversation-id": "c-7", "reply-with": "q1"})
}

fn kqml_sample() -> Value {
    json!({"performative": "ask", "sender": "my-agent", "content": {"query": "gpu-instances"}, "reply-with": "k1"})
}

fn langchain_sample() -> Value {
    json!({"input": {"action": "execute", "tool": "list_gpu_instances", "tool_input": {"provider": "all"}}})
}

fn offers(result: &Value) -> usize {
    result["offers"].as_array().map_or(0, Vec::len)
}

async fn each_protocol_answers_in_its_own_terms(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;

    let a2a = reply(&fleet, "/api/v1/a2a", &key, &a2a_sample()).await;
    assert_eq!(
        (a2a["status"].as_str(), a2a["to_agent"].as_str()),
        (Some("completed"), Some("my-agent")),
        "{a2a}"
    );
    assert!(offers(&a2a["result"]) > 0);
    assert!(
        a2a["result"]["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .all(|offer| offer["provider"] == "vast.ai")
    );

    let acp = reply(&fleet, "/api/v1/acp", &key, &acp_sample()).await;
    assert_eq!(acp["header"]["message_type"], "response");
    assert_eq!(
        (
            acp["header"]["receiver"].as_str(),
            acp["header"]["in_reply_to"].as_str()
        ),
        (Some("my-agent"), Some("m-1"))
    );
    assert_eq!(acp["payload"]["status"], "success", "{acp}");
    assert!(offers(&acp["payload"]["result"]) > 0);

    let fipa = reply(&fleet, "/api/v1/fipa", &key, &fipa_sample()).await;
    assert_eq!(fipa["performative"], "inform", "{fipa}");
    assert_eq!(
        (fipa["conversation-id"].as_str(), fipa["in-reply-to"].as_str()),
        (Some("c-7"), Some("q1"))
    );
    assert_eq!(fipa["receiver"], json!([{"name": "my-agent"}]));
    assert!(offers(&fipa["content"]["result"]) > 0);
    for (malformed, why) in [
        (json!({"performative": "query-ref", "content": {}}), "content"),
        (json!({"content": {"query": "gpu-instances"}}), "performative"),
        (
            json!({"performative": "query-ref", "content": {"query": "the-meaning-of-life"}}),
            "UNKNOWN_ACTION",
        ),
        (
            json!({"performative": "propagate", "sender": {"name": "a"}, "content": {}}),
            "propagate",
        ),
    ] {
        let answer = reply(&fleet, "/api/v1/fipa", &key, &malformed).await;
        assert_eq!(answer["performative"], "not-understood", "{answer}");
        assert!(answer["content"].to_string().contains(why), "{answer}");
    }
    expect_status(fleet.rest.get("/health/live", Auth::None).await, StatusCode::OK).await;

    let kqml = reply(&fleet, "/api/v1/kqml", &key, &kqml_sample()).await;
    assert_eq!(
        (kqml["performative"].as_str(), kqml["in-reply-to"].as_str()),
        (Some("tell"), Some("k1")),
        "{kqml}"
    );
    assert!(offers(&kqml["content"]["result"]) > 0);
    let achieved = reply(
        &fleet,
        "/api/v1/kqml",
        &key,
        &json!({"performative": "achieve", "sender": "my-agent", "content": {"action": "lb.strategy", "strategy": "least_connections"}}),
    )
    .await;
    assert_eq!(achieved["performative"], "tell", "{achieved}");
    let strategy = expect_status(
        fleet
            .rest
            .get("/api/v1/loadbalancer/strategy", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(strategy["strategy"], "least_connections", "{strategy}");
    let unknown = reply(
        &fleet,
        "/api/v1/kqml",
        &key,
        &json!({"performative": "broadcast", "sender": "a"}),
    )
    .await;
    assert_eq!(unknown["performative"], "error");
    let sorry = reply(
        &fleet,
        "/api/v1/kqml",
        &key,
        &json!({"performative": "ask-one", "sender": "a", "content": {"query": "unicorns"}}),
    )
    .await;
    assert_eq!(sorry["performative"], "sorry", "{sorry}");

    // FIPA and KQML in their native syntax, answered in it.
    let native = |path: &'static str, text: &'static str| {
        let request = fleet.rest.request(Method::POST, path, Auth::Key(&key)).body(text);
        async move {
            let response = request.send().await.expect("answered");
            assert_eq!(response.status(), StatusCode::OK);
            let content_type = response.headers()["content-type"]
                .to_str()
                .expect("text")
                .to_owned();
            (content_type, response.text().await.expect("a body"))
        }
    };
    let (content_type, told) = native(
        "/api/v1/kqml",
        "(ask-one :sender my-agent :content (gpu-instances :provider vast.ai :page_size 2) :reply-with q1)",
    )
    .await;
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert!(
        told.starts_with("(tell") && told.contains(":receiver my-agent") && told.contains(":in-reply-to q1"),
        "{told}"
    );
    assert!(
        told.contains(":language json") && told.contains("\\\"offers\\\""),
        "{told}"
    );
    let (_, informed) = native(
        "/api/v1/fipa",
        r#"(query-ref :sender (agent-identifier :name my-agent) :receiver (set (agent-identifier :name aiserve-gpuproxy))
             :content "(gpu-instances :provider io.net)" :conversation-id c-9 :reply-with r9)"#,
    )
    .await;
    assert!(
        informed.starts_with("(inform")
            && informed.contains(":conversation-id c-9")
            && informed.contains(":in-reply-to r9"),
        "{informed}"
    );
    assert!(
        informed.contains(":receiver (set (agent-identifier :name my-agent))"),
        "{informed}"
    );
    let (_, broken) = native("/api/v1/kqml", "(ask-one :sender").await;
    assert!(broken.contains("\"error\""), "{broken}");
    let (_, broken) = native("/api/v1/fipa", "(query-ref :content (gpu-instances)").await;
    assert!(broken.contains("not-understood"), "{broken}");
    let detected = fleet
        .rest
        .request(Method::POST, "/api/v1/agent", Auth::Key(&key))
        .body("(ask-all :sender my-agent :content (my-instances))")
        .send()
        .await
        .expect("answered");
    assert_eq!(detected.headers()["x-agent-protocol"], "kqml");
    assert!(detected.text().await.expect("a body").starts_with("(tell"));
    expect_status(fleet.rest.get("/health/live", Auth::None).await, StatusCode::OK).await;

    let tools = expect_status(
        fleet.rest.get("/api/v1/langchain/tools", Auth::Key(&key)).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(tools["count"], 12);
    let first = &tools["tools"][0];
    assert_eq!(
        (first["type"].as_str(), first["function"]["name"].as_str()),
        (Some("function"), Some("list_gpu_instances"))
    );
    assert_eq!(first["function"]["parameters"]["type"], "object");
    let executed = reply(&fleet, "/api/v1/langchain", &key, &langchain_sample()).await;
    assert_eq!(executed["status"], "success", "{executed}");
    assert!(offers(&executed["output"]) > 0);
    let unknown = send(
        &fleet,
        "/api/v1/langchain",
        &key,
        &json!({"input": {"tool": "mine_bitcoin"}}),
    )
    .await;
    assert_eq!(
        expect_status(unknown, StatusCode::BAD_REQUEST).await["code"],
        "UNKNOWN_ACTION"
    );
    let bad = send(
        &fleet,
        "/api/v1/langchain",
        &key,
        &json!({"input": {"tool": "list_gpu_instances", "tool_input": {"colour": "red"}}}),
    )
    .await;
    let bad = expect_status(bad, StatusCode::BAD_REQUEST).await;
    assert_eq!(
        (bad["code"].as_str(), bad["field"].as_str()),
        (Some("VALIDATION_FAILED"), Some("input.tool_input"))
    );

    // One endpoint, each seed sample told apart and answered in its own protocol.
    for (sample, protocol, check) in [
        (a2a_sample(), "a2a", "/status"),
        (acp_sample(), "acp", "/payload/status"),
        (fipa_sample(), "fipa", "/performative"),
        (kqml_sample(), "kqml", "/performative"),
        (langchain_sample(), "langchain", "/status"),
    ] {
        let response = send(&fleet, "/api/v1/agent", &key, &sample).await;
        assert_eq!(response.headers()["x-agent-protocol"], protocol);
        let answer = expect_status(response, StatusCode::OK).await;
        assert!(
            matches!(
                answer.pointer(check).and_then(Value::as_str),
                Some("completed" | "success" | "inform" | "tell")
            ),
            "{protocol}: {answer}"
        );
    }
    let unknown = send(&fleet, "/api/v1/agent", &key, &json!({"hello": "world"})).await;
    assert_eq!(
        expect_status(unknown, StatusCode::BAD_REQUEST).await["code"],
        "MALFORMED_REQUEST"
    );
    let anonymous = fleet.rest.post("/api/v1/fipa", Auth::None, &fipa_sample()).await;
    assert_eq!(
        expect_status(anonymous, StatusCode::UNAUTHORIZED).await["code"],
        "UNAUTHENTICATED"
    );

    let discovered = expect_status(
        fleet.rest.get("/agent/discover", Auth::None).await,
        StatusCode::OK,
    )
    .await;
    let protocols: Vec<&str> = discovered["protocols"]
        .as_array()
        .expect("protocols")
        .iter()
        .filter_map(|protocol| protocol["name"].as_str())
        .collect();
    assert_eq!(
        protocols,
        ["mcp", "a2a", "acp", "fipa", "kqml", "langchain", "agent"]
    );
    let list = discovered["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|action| action["name"] == "list_gpu_instances")
        .expect("the listing");
    assert!(
        list["aliases"]
            .as_array()
            .expect("aliases")
            .contains(&json!("gpu.list"))
    );
}

async fn spending_refusals_are_refuse_sorry_and_failed(mode: Mode) {
    let (fleet, admin, email, key) = fleet_with_admin(
        mode,
        &[("CREDITS_ENFORCED", "true"), ("GUARDRAILS_ENABLED", "true")],
    )
    .await;
    credit(&fleet, &admin, &email, 500.0).await;
    limit_hour(&fleet, &admin, &email, 0.01).await;
    let listed = reply(
        &fleet,
        "/api/v1/a2a",
        &key,
        &json!({"action": "gpu.list", "parameters": {"provider": "vast.ai", "page_size": 1}}),
    )
    .await;
    let offer = &listed["result"]["offers"][0];
    let rent = json!({"provider": offer["provider"], "offer_id": offer["offer_id"]});

    let fipa = reply(
        &fleet,
        "/api/v1/fipa",
        &key,
        &json!({"performative": "request", "sender": {"name": "buyer"}, "content": {"action": "gpu.create", "parameters": rent}}),
    )
    .await;
    assert_eq!(fipa["performative"], "refuse", "{fipa}");
    assert_eq!(fipa["content"]["reason"]["code"], "SPENDING_LIMIT_EXCEEDED");
    assert!(
        fipa["content"]["reason"]["message"]
            .as_str()
            .is_some_and(|reason| reason.contains("60min")),
        "names the window: {fipa}"
    );

    let kqml = reply(
        &fleet,
        "/api/v1/kqml",
        &key,
        &json!({"performative": "achieve", "sender": "buyer", "content": {"action": "create_gpu_instance", "parameters": rent}}),
    )
    .await;
    assert_eq!(kqml["performative"], "sorry", "{kqml}");
    assert_eq!(kqml["content"]["comment"]["code"], "SPENDING_LIMIT_EXCEEDED");

    let a2a = reply(
        &fleet,
        "/api/v1/a2a",
        &key,
        &json!({"action": "gpu.create", "from_agent": "buyer", "parameters": rent}),
    )
    .await;
    assert_eq!(
        (a2a["status"].as_str(), a2a["error"]["code"].as_str()),
        (Some("failed"), Some("SPENDING_LIMIT_EXCEEDED")),
        "{a2a}"
    );

    let mine = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances/mine", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["data"], json!([]), "nothing rented: {mine}");
}

async fn the_contract_net_rents_exactly_the_accepted_proposal(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    let proposed = reply(
        &fleet,
        "/api/v1/fipa",
        &key,
        &json!({"performative": "cfp", "sender": {"name": "buyer"}, "conversation-id": "deal-1",
                "content": {"action": "gpu-instances", "provider": "io.net", "count": 3}}),
    )
    .await;
    assert_eq!(proposed["performative"], "propose", "{proposed}");
    assert_eq!(proposed["conversation-id"], "deal-1");
    let proposals = proposed["content"]["proposals"]
        .as_array()
        .expect("proposals")
        .clone();
    assert_eq!(proposals.len(), 3);
    assert!(proposals.iter().all(|proposal| {
        proposal["price_per_hour"]
            .as_f64()
            .is_some_and(|price| price > 0.0)
    }));
    let chosen = &proposals[1];

    let rejected = reply(
        &fleet,
        "/api/v1/fipa",
        &key,
        &json!({"performative": "reject-proposal", "sender": {"name": "buyer"}, "conversation-id": "deal-1",
                "content": {"proposal-id": proposals[0]["proposal-id"]}}),
    )
    .await;
    assert_eq!(rejected["performative"], "inform");
    let accepted = reply(
        &fleet,
        "/api/v1/fipa",
        &key,
        &json!({"performative": "accept-proposal", "sender": {"name": "buyer"}, "conversation-id": "deal-1",
                "content": {"proposal-id": chosen["proposal-id"], "config": {"ports": [8000]}}}),
    )
    .await;
    assert_eq!(accepted["performative"], "inform", "{accepted}");
    assert_eq!(accepted["content"]["result"]["offer_id"], chosen["offer_id"]);
    let mine = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances/mine", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    let rented = mine["data"].as_array().expect("instances");
    assert_eq!(rented.len(), 1, "exactly the accepted proposal: {mine}");
    assert_eq!(rented[0]["offer_id"], chosen["offer_id"], "{mine}");

    let native = fleet
        .rest
        .request(Method::POST, "/api/v1/fipa", Auth::Key(&key))
        .body("(cfp :sender (agent-identifier :name buyer) :content (gpu-instances :provider vast.ai :count 2) :reply-with cfp-2)")
        .send()
        .await
        .expect("answered");
    let native = native.text().await.expect("a body");
    assert!(
        native.starts_with("(propose") && native.contains(":in-reply-to cfp-2"),
        "{native}"
    );
    let unreadable = reply(
        &fleet,
        "/api/v1/fipa",
        &key,
        &json!({"performative": "accept-proposal", "sender": {"name": "buyer"}, "content": {}}),
    )
    .await;
    assert_eq!(unreadable["performative"], "not-understood");
}
