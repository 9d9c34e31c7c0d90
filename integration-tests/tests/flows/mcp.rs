//! MCP at `/api/v1/mcp` through rmcp's own client: both protocol eras, the tools' schemas and
//! hints, read tools answering what REST answers, a reservation with progress, a spending tool
//! refused by a guard-rail limit, and what is refused before any tool runs (no credentials, a
//! browser origin not allowed, an unknown protocol version, an unknown tool, bad arguments).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use gpuproxy_integration_tests::{Auth, Mode, TestFleet, expect_status};
use http::{HeaderName, HeaderValue};
use reqwest::StatusCode;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation, JsonObject,
    ProgressNotificationParam, ProtocolVersion,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientHandler, ClientLifecycleMode, ClientServiceExt, RoleClient, ServiceError, ServiceExt};
use serde_json::{Value, json};

use crate::in_both_modes;
use crate::rentals::{credit, fleet_with_admin, limit_hour, user_key};

in_both_modes!(
    clients_of_both_eras_list_and_call_the_tools,
    requests_are_refused_before_any_tool_runs,
    reserving_reports_progress_and_limits_refuse_spending,
);

const TOOLS: [&str; 12] = [
    "list_gpu_instances",
    "create_gpu_instance",
    "destroy_gpu_instance",
    "list_my_instances",
    "reserve_gpus",
    "get_spending_info",
    "check_spending_limit",
    "get_billing_transactions",
    "get_credits",
    "get_load_info",
    "set_lb_strategy",
    "proxy_inference_request",
];

/// A client that keeps the progress notifications it receives.
#[derive(Clone, Default)]
struct Client {
    version: Option<ProtocolVersion>,
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Client {
    fn get_info(&self) -> ClientConfig {
        let config = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("gpuproxy-tests", "1.0"),
        );
        match &self.version {
            Some(version) => config.with_protocol_version(version.clone()),
            None => config,
        }
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().expect("progress").push(params);
    }
}

fn transport(fleet: &TestFleet, key: &str) -> StreamableHttpClientTransport<reqwest::Client> {
    let mut headers = HashMap::new();
    headers.insert(
        HeaderName::from_static("x-api-key"),
        HeaderValue::from_str(key).expect("a header value"),
    );
    StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("{}/api/v1/mcp", fleet.gateways[0].http))
            .custom_headers(headers),
    )
}

/// Connects with the `initialize` handshake of 2025-11-25.
async fn handshake(fleet: &TestFleet, key: &str, client: Client) -> RunningService<RoleClient, Client> {
    let client = Client {
        version: Some(ProtocolVersion::V_2025_11_25),
        ..client
    };
    client.serve(transport(fleet, key)).await.expect("the handshake")
}

/// Connects statelessly, with `server/discover` of 2026-07-28.
async fn discover(fleet: &TestFleet, key: &str) -> RunningService<RoleClient, Client> {
    Client::default()
        .serve_with_lifecycle(
            transport(fleet, key),
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .expect("discovery")
}

async fn call(client: &RunningService<RoleClient, Client>, name: &str, arguments: Value) -> CallToolResult {
    let arguments: JsonObject = serde_json::from_value(arguments).expect("an object");
    client
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|error| panic!("{name}: {error}"))
}

/// Calls a tool that must succeed and returns its structured result.
async fn result(client: &RunningService<RoleClient, Client>, name: &str, arguments: Value) -> Value {
    let answer = call(client, name, arguments).await;
    assert_ne!(answer.is_error, Some(true), "{name}: {answer:?}");
    answer
        .structured_content
        .unwrap_or_else(|| panic!("{name} has structured content"))
}

fn protocol_error(answer: Result<CallToolResult, ServiceError>) -> i32 {
    match answer {
        Err(ServiceError::McpError(error)) => error.code.0,
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

async fn clients_of_both_eras_list_and_call_the_tools(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;

    let legacy = handshake(&fleet, &key, Client::default()).await;
    let info = legacy.peer_info().expect("the server's info");
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    assert_eq!(
        info.server_info.as_ref().map(|server| server.name.as_str()),
        Some("gpuproxy")
    );
    assert!(info.capabilities.tools.is_some());

    let tools = legacy.list_all_tools().await.expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    assert_eq!(names, TOOLS);
    for tool in &tools {
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            tool.name
        );
        let output = tool
            .output_schema
            .as_ref()
            .unwrap_or_else(|| panic!("{} has an output schema", tool.name));
        assert_eq!(output.get("type"), Some(&json!("object")), "{}", tool.name);
        assert!(tool.description.as_ref().is_some_and(|text| !text.is_empty()));
    }
    let hints = |name: &str| {
        let annotations = tools
            .iter()
            .find(|tool| tool.name == name)
            .and_then(|tool| tool.annotations.clone())
            .expect("annotations");
        (
            annotations.read_only_hint,
            annotations.destructive_hint,
            annotations.idempotent_hint,
        )
    };
    assert_eq!(hints("list_gpu_instances"), (Some(true), Some(false), Some(true)));
    assert_eq!(
        hints("destroy_gpu_instance"),
        (Some(false), Some(true), Some(true))
    );
    assert_eq!(
        hints("create_gpu_instance"),
        (Some(false), Some(false), Some(false))
    );
    assert_eq!(hints("set_lb_strategy"), (Some(false), Some(false), Some(true)));
    assert_eq!(
        hints("proxy_inference_request"),
        (Some(false), Some(false), Some(false))
    );
    // The data plane reads the proxy tool's arguments as the body of POST /api/v1/gpu/proxy.
    let openapi = expect_status(fleet.rest.get("/openapi.json", Auth::None).await, StatusCode::OK).await;
    let fields = |schema: &Value| {
        let mut names: Vec<String> = schema["properties"]
            .as_object()
            .map(|properties| properties.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    };
    let proxy = tools
        .iter()
        .find(|tool| tool.name == "proxy_inference_request")
        .expect("proxy");
    assert_eq!(
        fields(&Value::Object((*proxy.input_schema).clone())),
        fields(&openapi["components"]["schemas"]["ProxyRequestDto"])
    );
    assert_eq!(
        fields(&Value::Object(
            proxy.output_schema.as_deref().cloned().unwrap_or_default()
        )),
        fields(&openapi["components"]["schemas"]["ProxyResponseDto"])
    );
    let create = tools
        .iter()
        .find(|tool| tool.name == "create_gpu_instance")
        .expect("create");
    assert_eq!(
        create.input_schema.get("required"),
        Some(&json!(["provider", "offer_id"]))
    );

    // The read tools answer what the REST routes answer.
    let offers = result(
        &legacy,
        "list_gpu_instances",
        json!({"provider": "vast.ai", "page_size": 5}),
    )
    .await;
    let listed = expect_status(
        fleet
            .rest
            .get(
                "/api/v1/gpu/instances?provider=vast.ai&page_size=5",
                Auth::Key(&key),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(offers["offers"].as_array().map(Vec::len), Some(5));
    assert!(
        offers["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .all(|offer| offer["provider"] == "vast.ai")
    );
    assert_eq!(offers["total_count"], listed["total"], "{listed}");
    assert_eq!(offers["offers"][0]["offer_id"], listed["data"][0]["id"]);
    let spending = result(&legacy, "get_spending_info", json!({})).await;
    assert_eq!(spending["windows"].as_array().map(Vec::len), Some(17));
    let check = result(&legacy, "check_spending_limit", json!({"estimated_cost": 1.0})).await;
    assert_eq!(check["allowed"], true);
    let credits = result(&legacy, "get_credits", json!({})).await;
    assert_eq!(credits["credits_remaining"], 0.0);
    let transactions = result(&legacy, "get_billing_transactions", json!({"limit": 10})).await;
    assert_eq!(transactions["transactions"], json!([]));
    let mine = result(&legacy, "list_my_instances", json!({})).await;
    assert_eq!(mine["instances"], json!([]));

    // A setting made over MCP is the one REST reads.
    let set = result(
        &legacy,
        "set_lb_strategy",
        json!({"strategy": "least_connections"}),
    )
    .await;
    assert_eq!(set["strategy"], "least_connections");
    let strategy = expect_status(
        fleet
            .rest
            .get("/api/v1/loadbalancer/strategy", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(strategy["strategy"], "least_connections", "{strategy}");
    let load = result(&legacy, "get_load_info", json!({})).await;
    assert_eq!(load["current_strategy"], "least_connections");

    // What the owning service refuses is a tool error the model can read.
    let refused = call(&legacy, "set_lb_strategy", json!({"strategy": "fastest"})).await;
    assert_eq!(refused.is_error, Some(true));
    let text = format!("{:?}", refused.content);
    assert!(text.contains("VALIDATION_FAILED"), "{text}");
    let unknown = legacy.call_tool(CallToolRequestParams::new("mine_bitcoin")).await;
    assert_eq!(protocol_error(unknown), -32602);
    // Arguments the schema refuses are a tool error the model can read and correct.
    let bad = call(&legacy, "list_gpu_instances", json!({"colour": "red"})).await;
    assert_eq!(bad.is_error, Some(true));
    let text = format!("{:?}", bad.content);
    assert!(
        text.contains("VALIDATION_FAILED") && text.contains("colour"),
        "{text}"
    );
    legacy.cancel().await.expect("closed");

    let modern = discover(&fleet, &key).await;
    assert_eq!(
        modern.peer_info().expect("info").protocol_version,
        ProtocolVersion::V_2026_07_28
    );
    let tools = modern.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), TOOLS.len());
    let offers = result(
        &modern,
        "list_gpu_instances",
        json!({"provider": "io.net", "page_size": 3}),
    )
    .await;
    assert_eq!(offers["offers"].as_array().map(Vec::len), Some(3));
    let load = result(&modern, "get_load_info", json!({})).await;
    assert_eq!(load["current_strategy"], "least_connections");
    let spending = result(&modern, "get_spending_info", json!({})).await;
    assert_eq!(spending["windows"].as_array().map(Vec::len), Some(17));
    let check = result(&modern, "check_spending_limit", json!({"estimated_cost": 1.0})).await;
    assert_eq!(check["allowed"], true);
    let credits = result(&modern, "get_credits", json!({})).await;
    assert_eq!(credits["credits_remaining"], 0.0);
    let transactions = result(&modern, "get_billing_transactions", json!({})).await;
    assert_eq!(transactions["total_count"], 0);
    let mine = result(&modern, "list_my_instances", json!({"include_ended": true})).await;
    assert_eq!(mine["instances"], json!([]));
    let unknown = modern.call_tool(CallToolRequestParams::new("mine_bitcoin")).await;
    assert_eq!(protocol_error(unknown), -32602);
    modern.cancel().await.expect("closed");
}

async fn requests_are_refused_before_any_tool_runs(mode: Mode) {
    let fleet = TestFleet::start(mode).await;
    let key = user_key(&fleet).await;
    let url = format!("{}/api/v1/mcp", fleet.gateways[0].http);
    let http = reqwest::Client::new();
    let discover = json!({
        "jsonrpc": "2.0", "id": 1, "method": "server/discover",
        "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "curl", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }},
    });
    let post = |body: &Value, version: &str| {
        http.post(&url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", version)
            .header("mcp-method", "server/discover")
            .json(body)
    };

    let anonymous = post(&discover, "2026-07-28").send().await.expect("answered");
    let refused = expect_status(anonymous, StatusCode::UNAUTHORIZED).await;
    assert_eq!(refused["code"], "UNAUTHENTICATED");

    let rebinding = post(&discover, "2026-07-28")
        .header("x-api-key", &key)
        .header("origin", "http://evil.example")
        .send()
        .await
        .expect("answered");
    let refused = expect_status(rebinding, StatusCode::FORBIDDEN).await;
    assert_eq!(refused["code"], "FORBIDDEN");

    let discovered = post(&discover, "2026-07-28")
        .header("x-api-key", &key)
        .send()
        .await
        .expect("answered");
    let discovered = expect_status(discovered, StatusCode::OK).await;
    let versions = discovered["result"]["supportedVersions"].clone();
    assert!(
        versions.as_array().is_some_and(
            |versions| versions.contains(&json!("2026-07-28")) && versions.contains(&json!("2025-11-25"))
        ),
        "{discovered}"
    );

    let mut future = discover.clone();
    future["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("2099-01-01");
    let unsupported = post(&future, "2099-01-01")
        .header("x-api-key", &key)
        .send()
        .await
        .expect("answered");
    let unsupported = expect_status(unsupported, StatusCode::BAD_REQUEST).await;
    assert_eq!(unsupported["error"]["code"], -32022, "{unsupported}");
    assert!(
        unsupported["error"]["data"].to_string().contains("2026-07-28"),
        "names the supported versions: {unsupported}"
    );
    // A handshake-era session is its opener's alone.
    let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "curl", "version": "1"}}});
    let opened = http
        .post(&url)
        .header("x-api-key", &key)
        .header("accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .expect("answered");
    assert_eq!(opened.status(), StatusCode::OK);
    let session = opened.headers()["mcp-session-id"]
        .to_str()
        .expect("an id")
        .to_owned();
    let in_session = |key: &str, body: Value| {
        http.post(&url)
            .header("x-api-key", key)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &session)
            .header("mcp-protocol-version", "2025-11-25")
            .json(&body)
            .send()
    };
    let acknowledged = in_session(
        &key,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await
    .expect("answered");
    assert_eq!(acknowledged.status(), StatusCode::ACCEPTED);
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let someone_else = user_key(&fleet).await;
    let stolen = in_session(&someone_else, list.clone()).await.expect("answered");
    assert_eq!(
        expect_status(stolen, StatusCode::NOT_FOUND).await["code"],
        "NOT_FOUND"
    );
    let own = in_session(&key, list).await.expect("answered");
    assert_eq!(own.status(), StatusCode::OK);
    assert!(
        own.text()
            .await
            .expect("an event stream")
            .contains("list_gpu_instances")
    );
}

async fn reserving_reports_progress_and_limits_refuse_spending(mode: Mode) {
    let (fleet, admin, email, key) = fleet_with_admin(
        mode,
        &[("CREDITS_ENFORCED", "true"), ("GUARDRAILS_ENABLED", "true")],
    )
    .await;
    credit(&fleet, &admin, &email, 500.0).await;

    let client = Client::default();
    let progress = client.progress.clone();
    let mcp = handshake(&fleet, &key, client).await;
    let reserved = result(
        &mcp,
        "reserve_gpus",
        json!({"count": 2, "provider": "io.net", "config": {"image": "vllm/vllm-openai:latest", "ports": [8000]}}),
    )
    .await;
    assert_eq!(reserved["requested"], 2);
    assert_eq!(reserved["all_started"], true, "{reserved}");
    let instances = reserved["instances"].as_array().expect("instances").clone();
    assert_eq!(instances.len(), 2);
    assert!(
        instances.iter().all(|instance| instance["status"] == "running"),
        "{reserved}"
    );
    let reports = progress.lock().expect("progress").clone();
    assert!(reports.len() >= 2, "progress while reserving: {reports:?}");
    // Each GPU counts twice (rented, then started), and every report moves forward.
    assert!(reports.iter().all(|report| report.total == Some(4.0)));
    assert!(
        reports.windows(2).all(|pair| pair[0].progress < pair[1].progress),
        "{reports:?}"
    );
    assert_eq!(
        reports.last().map(|report| report.progress),
        Some(4.0),
        "{reports:?}"
    );

    // The same instances REST shows, and the same money: an hour of each held from the credits.
    let mine = expect_status(
        fleet
            .rest
            .get("/api/v1/gpu/instances/mine", Auth::Key(&key))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(mine["data"].as_array().map(Vec::len), Some(2), "{mine}");
    let credits = result(&mcp, "get_credits", json!({})).await;
    assert!(
        credits["held"].as_f64().is_some_and(|held| held > 0.0),
        "{credits}"
    );

    let first = &instances[0];
    let destroyed = result(
        &mcp,
        "destroy_gpu_instance",
        json!({"provider": first["provider"], "instance_id": first["instance_id"]}),
    )
    .await;
    assert_eq!(destroyed["terminated"], true);
    let mine = result(&mcp, "list_my_instances", json!({})).await;
    assert_eq!(mine["instances"].as_array().map(Vec::len), Some(1), "{mine}");

    limit_hour(&fleet, &admin, &email, 0.01).await;
    let offers = result(
        &mcp,
        "list_gpu_instances",
        json!({"provider": "vast.ai", "page_size": 1}),
    )
    .await;
    let offer = &offers["offers"][0];
    let refused = call(
        &mcp,
        "create_gpu_instance",
        json!({"provider": offer["provider"], "offer_id": offer["offer_id"]}),
    )
    .await;
    assert_eq!(refused.is_error, Some(true));
    let text = format!("{:?}", refused.content);
    assert!(
        text.contains("SPENDING_LIMIT_EXCEEDED") && text.contains("60min"),
        "names the window: {text}"
    );
    let mine = result(&mcp, "list_my_instances", json!({})).await;
    assert_eq!(
        mine["instances"].as_array().map(Vec::len),
        Some(1),
        "nothing rented: {mine}"
    );
    mcp.cancel().await.expect("closed");
}
