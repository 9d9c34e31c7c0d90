//! `aiserve-gpuproxy-client mcp`, driven over its standard input and output by rmcp's client as a
//! desktop assistant would: tools listed and called through it, progress passed on, errors kept.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly at the step that broke"
)]

use std::sync::{Arc, Mutex};

use gpuproxy_config::EnvMap;
use gpuproxy_daemon::{DaemonConfig, Role};
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, JsonObject,
    ProgressNotificationParam,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, RoleClient, ServiceError, ServiceExt};
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Assistant {
    progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Assistant {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("desktop-assistant", "1.0"),
        )
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().expect("progress").push(params);
    }
}

async fn post(http: &reqwest::Client, url: String, body: Value, token: Option<&str>) -> Value {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("answered");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("JSON")
}

async fn call(assistant: &RunningService<RoleClient, Assistant>, name: &str, arguments: Value) -> Value {
    let arguments: JsonObject = serde_json::from_value(arguments).expect("an object");
    let answer = assistant
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(arguments))
        .await
        .unwrap_or_else(|error| panic!("{name}: {error}"));
    assert_ne!(answer.is_error, Some(true), "{name}: {answer:?}");
    answer.structured_content.expect("structured content")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_desktop_assistant_reaches_the_gateway_through_the_stdio_bridge() {
    let data = tempfile::tempdir().expect("temp dir");
    let env = EnvMap::from_pairs([
        ("JWT_SECRET", "client-test-secret-client-test-secret!"),
        ("SERVER_HOST", "127.0.0.1"),
        ("SERVER_PORT", "0"),
        ("GRPC_PORT", "0"),
        ("DATA_DIR", data.path().to_str().expect("path")),
        ("AGENT_PROGRESS_INTERVAL", "50ms"),
    ]);
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");
    let running = gpuproxy_daemon::start(Role::All, config)
        .await
        .expect("server starts");
    let server = format!("http://{}", running.http_addr.expect("REST"));
    let http = reqwest::Client::new();
    let email = "assistant@example.com";
    post(
        &http,
        format!("{server}/api/v1/auth/register"),
        json!({"email": email, "password": "password123", "name": "Ada"}),
        None,
    )
    .await;
    let login = post(
        &http,
        format!("{server}/api/v1/auth/login"),
        json!({"email": email, "password": "password123"}),
        None,
    )
    .await;
    let token = login["data"]["token"].as_str().expect("a token");
    let key = post(
        &http,
        format!("{server}/api/v1/auth/apikey"),
        json!({"name": "desktop"}),
        Some(token),
    )
    .await;
    let key = key["api_key"].as_str().expect("a key");

    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_aiserve-gpuproxy-client"));
    command
        .args(["--server", &server, "-key", key, "mcp"])
        .env_clear();
    let bridge = TokioChildProcess::new(command).expect("the bridge starts");
    let assistant = Assistant::default();
    let progress = assistant.progress.clone();
    let assistant = assistant.serve(bridge).await.expect("the handshake over stdio");

    let tools = assistant.list_all_tools().await.expect("tools/list");
    assert_eq!(tools.len(), 12);
    assert!(tools.iter().all(|tool| tool.output_schema.is_some()));
    let offers = call(
        &assistant,
        "list_gpu_instances",
        json!({"provider": "io.net", "page_size": 2}),
    )
    .await;
    assert_eq!(offers["offers"].as_array().map(Vec::len), Some(2), "{offers}");

    let reserved = call(
        &assistant,
        "reserve_gpus",
        json!({"count": 1, "provider": "io.net"}),
    )
    .await;
    assert_eq!(reserved["all_started"], true, "{reserved}");
    let reports = progress.lock().expect("progress").clone();
    assert!(
        reports
            .last()
            .is_some_and(|report| report.progress == 2.0 && report.total == Some(2.0)),
        "progress through the bridge: {reports:?}"
    );
    let mine = call(&assistant, "list_my_instances", json!({})).await;
    assert_eq!(mine["instances"][0]["reservation_id"], reserved["reservation_id"]);

    let unknown = assistant
        .call_tool(CallToolRequestParams::new("mine_bitcoin"))
        .await;
    assert!(
        matches!(unknown, Err(ServiceError::McpError(ref error)) if error.code.0 == -32602),
        "{unknown:?}"
    );
    assistant.cancel().await.expect("closed");
}
