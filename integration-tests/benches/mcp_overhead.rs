//! What MCP adds to a call: `tools/call list_gpu_instances` against the same listing over REST,
//! on an embedded server over loopback sockets, one request at a time, the three kinds of request
//! interleaved so that drift hits them alike. MCP is measured in both eras: stateless (2026-07-28,
//! a JSON answer) and in a session of the handshake era (2025-11-25, an event-stream answer).
//! The MCP path adds the JSON-RPC envelope, rmcp's request handling, the call to the agents
//! service and the conversion of the catalog's answer to the tool's output. Writes
//! `bench-reports/mcp_overhead.md`.
#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a benchmark binary reports on standard output"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use gpuproxy_config::EnvMap;
use gpuproxy_daemon::{DaemonConfig, Role};
use serde_json::{Value, json};

const WARM_UP: usize = 200;
const SAMPLES: usize = 2_000;
const ARGUMENTS: &str = r#"{"provider":"vast.ai","page_size":5}"#;

fn percentile(samples: &mut [Duration], fraction: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() - 1) as f64 * fraction).round() as usize;
    samples[index].as_secs_f64() * 1000.0
}

struct Target {
    http: reqwest::Client,
    base: String,
    key: String,
    session: String,
}

impl Target {
    async fn rest(&self) -> Duration {
        let started = Instant::now();
        let response = self
            .http
            .get(format!(
                "{}/api/v1/gpu/instances?provider=vast.ai&page_size=5",
                self.base
            ))
            .header("x-api-key", &self.key)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["count"], 5);
        started.elapsed()
    }

    fn mcp(&self, version: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/api/v1/mcp", self.base))
            .header("x-api-key", &self.key)
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json")
            .header("mcp-protocol-version", version)
    }

    async fn stateless(&self) -> Duration {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"list_gpu_instances","arguments":{ARGUMENTS},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{{"name":"bench","version":"1"}},"io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
        );
        let started = Instant::now();
        let response = self
            .mcp("2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", "list_gpu_instances")
            .body(body)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(answer["result"]["structuredContent"]["page_size"], 5, "{answer}");
        started.elapsed()
    }

    async fn in_session(&self) -> Duration {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"list_gpu_instances","arguments":{ARGUMENTS}}}}}"#
        );
        let started = Instant::now();
        let response = self
            .mcp("2025-11-25")
            .header("mcp-session-id", &self.session)
            .body(body)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("an event stream");
        assert!(text.contains("structuredContent"), "{text}");
        started.elapsed()
    }
}

async fn start() -> (Target, gpuproxy_daemon::Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = EnvMap::from_pairs([
        ("JWT_SECRET", "benchmark-secret-benchmark-secret-benchmark"),
        ("SERVER_HOST", "127.0.0.1"),
        ("SERVER_PORT", "0"),
        ("GRPC_PORT", "0"),
        ("DATA_DIR", dir.path().to_str().expect("path")),
        ("RATE_LIMIT_PER_MINUTE", "1000000"),
        ("LOG_LEVEL", "error"),
    ]);
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");
    let running = gpuproxy_daemon::start(Role::All, config)
        .await
        .expect("server starts");
    let base = format!("http://{}", running.http_addr.expect("REST"));
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value, token: Option<String>| {
        let mut request = http.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.expect("answered");
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<Value>().await.expect("JSON")
        }
    };
    let credentials =
        json!({"email": "bench@example.com", "password": "benchmark-password", "name": "Bench"});
    post("/api/v1/auth/register", credentials.clone(), None).await;
    let login = post("/api/v1/auth/login", credentials, None).await;
    let token = login["data"]["token"].as_str().expect("token").to_owned();
    let key = post("/api/v1/auth/apikey", json!({"name": "bench"}), Some(token)).await;
    let key = key["api_key"].as_str().expect("key").to_owned();
    let initialize = http
        .post(format!("{base}/api/v1/mcp"))
        .header("x-api-key", &key)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"}}}),
        )
        .send()
        .await
        .expect("initialized");
    let session = initialize.headers()["mcp-session-id"]
        .to_str()
        .expect("a session id")
        .to_owned();
    initialize.text().await.expect("the answer");
    let initialized = http
        .post(format!("{base}/api/v1/mcp"))
        .header("x-api-key", &key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .expect("acknowledged");
    assert_eq!(initialized.status(), 202);
    (
        Target {
            http,
            base,
            key,
            session,
        },
        running,
        dir,
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (target, _running, _dir) = start().await;
        for _ in 0..WARM_UP {
            target.rest().await;
            target.stateless().await;
            target.in_session().await;
        }
        let (mut rest, mut stateless, mut session) =
            (Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES), Vec::with_capacity(SAMPLES));
        for _ in 0..SAMPLES {
            rest.push(target.rest().await);
            stateless.push(target.stateless().await);
            session.push(target.in_session().await);
        }
        let (rest_p50, rest_p99) = (percentile(&mut rest, 0.5), percentile(&mut rest, 0.99));
        let mut report = format!(
            "# What MCP adds to a call\n\n\
             `tools/call list_gpu_instances` (vast.ai, 5 offers) against `GET /api/v1/gpu/instances?provider=vast.ai&page_size=5`, \
             embedded server, API key, loopback, one request at a time, {SAMPLES} samples of each, interleaved.\n\n\
             | request | p50 | p99 | added p50 | added p99 |\n|---|---|---|---|---|\n\
             | REST | {rest_p50:.3} ms | {rest_p99:.3} ms | | |\n"
        );
        for (label, samples) in [
            ("MCP 2026-07-28, stateless (JSON)", &mut stateless),
            ("MCP 2025-11-25, in a session (event stream)", &mut session),
        ] {
            let (p50, p99) = (percentile(samples, 0.5), percentile(samples, 0.99));
            report.push_str(&format!(
                "| {label} | {p50:.3} ms | {p99:.3} ms | {:.3} ms | {:.3} ms |\n",
                p50 - rest_p50,
                p99 - rest_p99
            ));
        }
        report.push_str("\nTarget: under 0.5 ms added at the median.\n");
        println!("{report}");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-reports/mcp_overhead.md");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("report directory");
        }
        std::fs::write(&path, report).expect("report written");
        println!("written to {}", path.display());
    });
}
