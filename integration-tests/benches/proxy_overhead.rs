//! What the gateway adds to proxied traffic, and how fast 16 GPUs are reserved. Runs the embedded
//! server (release build) against the simulator's upstream on loopback and measures, in one run:
//! sequential latency straight to the upstream, through `/api/v1/gpu/route/{path}` and through
//! nginx as a reverse proxy to the same upstream; throughput of the three with `wrk` (a separate
//! process), in interleaved rounds whose medians are compared; floors that place the route's
//! figure (the smallest proxies our libraries make, with reqwest and with the route's own instance
//! connections, and the gateway's own routes); and a
//! 16-GPU reservation with 500 ms injected on every provider call. Writes
//! `bench-reports/proxy_overhead.md`. nginx and wrk come from Debian (`scripts/bench-proxy.sh`
//! installs them); without them their rows say so. `HTTP_WORKERS` in the environment passes through
//! to the server (default: one REST worker per core).
#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark binary reports on standard output"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gpuproxy_config::EnvMap;
use gpuproxy_daemon::{DaemonConfig, Role};
use gpuproxy_provider_sim::{Faults, SimConfig, SimProvider, Simulator};
use serde_json::json;

/// The allocator `aiserve-gpuproxyd` runs with, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LATENCY_SAMPLES: usize = 3_000;
const WRK_SECONDS: u64 = 6;
const ROUNDS: usize = 5;
const WRK_CONNECTIONS: u32 = 64;
const CREATE_LATENCY_MS: u64 = 500;
const NGINX: &str = "through nginx (reverse proxy)";

/// One target's figures: latency percentiles and the throughput of each round.
struct Row {
    name: &'static str,
    p50: Duration,
    p99: Duration,
    rps: Vec<f64>,
}

impl Row {
    fn median_rps(&self) -> Option<f64> {
        let mut sorted = self.rps.clone();
        sorted.sort_by(f64::total_cmp);
        sorted.get(sorted.len() / 2).copied()
    }
}

struct Target {
    name: &'static str,
    url: String,
    key: Option<String>,
}

fn percentile(sorted: &[Duration], share: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * share).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn latencies(client: &reqwest::Client, target: &Target) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for round in 0..LATENCY_SAMPLES + 200 {
        let mut request = client.get(&target.url);
        if let Some(key) = &target.key {
            request = request.header("x-api-key", key);
        }
        let started = Instant::now();
        let response = request.send().await.expect("answered");
        assert_eq!(response.status(), 200, "{}", target.name);
        let _ = response.bytes().await.expect("a body");
        // The first rounds warm connections and caches.
        if round >= 200 {
            samples.push(started.elapsed());
        }
    }
    samples.sort();
    samples
}

fn installed(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Requests per second from `wrk`, or `None` without it.
fn throughput(url: &str, key: Option<&str>) -> Option<f64> {
    if !installed("wrk") {
        return None;
    }
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{WRK_CONNECTIONS}"),
        &format!("-d{WRK_SECONDS}s"),
        "--latency",
    ]);
    if let Some(key) = key {
        command.args(["-H", &format!("X-API-Key: {key}")]);
    }
    let output = command.arg(url).output().expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| line.strip_prefix("Requests/sec:"))
        .and_then(|value| value.trim().parse().ok())
}

/// Starts the smallest proxy the gateway's own libraries make: an axum server whose one handler
/// forwards to `upstream` with a pooled reqwest client and streams the answer back, with no
/// middleware, authentication or load balancing. Its row is the floor of the stack the route is
/// built on, on this machine.
async fn start_bare_proxy(upstream: String, tasks: &gpuproxy_server::Tasks) -> String {
    let client = reqwest::Client::new();
    let forward = move |request: axum::extract::Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let path = request.uri().path_and_query().map_or("/", |path| path.as_str());
            let answer = client
                .request(request.method().clone(), format!("{upstream}{path}"))
                .send()
                .await
                .expect("the upstream answers");
            let mut response = axum::response::Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                response = response.header(name, value);
            }
            response
                .body(axum::body::Body::from_stream(answer.bytes_stream()))
                .expect("a response")
        }
    };
    serve_on_loopback(axum::Router::new().fallback(forward), tasks).await
}

/// Starts the same kind of proxy with the route's own connections to instances
/// ([`gpuproxy_gateway::InstanceConnections`], driven by the request that holds one) instead of
/// reqwest: the floor the route's proxying sits on, without its middleware, authentication and
/// balancing.
async fn start_pooled_proxy(upstream: String, tasks: &gpuproxy_server::Tasks) -> String {
    let connections = gpuproxy_gateway::InstanceConnections::new(Duration::from_secs(5));
    let endpoint = connections.endpoint(&upstream).expect("a plain endpoint");
    let forward = move |request: axum::extract::Request| {
        let (connections, endpoint) = (connections.clone(), endpoint.clone());
        async move {
            let (mut parts, body) = request.into_parts();
            parts.uri = parts
                .uri
                .path_and_query()
                .map_or("/", |path| path.as_str())
                .parse()
                .expect("a path");
            let answer = connections
                .send(&endpoint, axum::http::Request::from_parts(parts, body))
                .await
                .expect("the upstream answers");
            answer.map(axum::body::Body::new)
        }
    };
    serve_on_loopback(axum::Router::new().fallback(forward), tasks).await
}

/// Serves `router` on a free loopback port until `tasks` shut down; returns its base URL.
async fn serve_on_loopback(router: axum::Router, tasks: &gpuproxy_server::Tasks) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("bound");
    let stop = tasks.token();
    tasks.spawn("bench-proxy", async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(stop.cancelled_owned())
            .await?;
        Ok(())
    });
    format!("http://{address}")
}

/// Starts nginx as a reverse proxy to `upstream` (host:port) on a free port, as tuned for proxying:
/// keep-alive to the upstream, no access log.
fn start_nginx(dir: &Path, upstream: &str) -> Option<(Child, u16)> {
    if !installed("nginx") {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("bound")
        .port();
    let conf = format!(
        "worker_processes auto;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  upstream gpu {{ server {upstream}; keepalive 128; }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://gpu;\n\
               proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n      proxy_buffering off;\n    }}\n  }}\n\
           client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n\
           uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n}}\n",
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("nginx.conf written");
    let child = Command::new("nginx")
        .args(["-c", &path.display().to_string(), "-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((child, port));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[tokio::main]
async fn main() {
    let sim_config = SimConfig {
        vastai_offers: 500,
        ionet_devices: 500,
        loading_after: Duration::from_millis(50),
        running_after: Duration::from_millis(200),
        ..SimConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let simulator = Simulator::start(sim_config.clone(), listener)
        .await
        .expect("simulator");
    let url = simulator.base_url();
    let dir = tempfile::tempdir().expect("temp dir");
    let env = EnvMap::from_pairs([
        ("JWT_SECRET", "benchmark-secret-benchmark-secret-benchmark"),
        ("SERVER_HOST", "127.0.0.1"),
        ("SERVER_PORT", "0"),
        ("GRPC_PORT", "0"),
        ("DATA_DIR", dir.path().to_str().expect("path")),
        ("RATE_LIMIT_ENABLED", "false"),
        ("LOG_LEVEL", "error"),
        ("INSTANCE_POLL_INTERVAL", "100ms"),
        ("VASTAI_API_KEY", sim_config.vastai_api_key.as_str()),
        ("VASTAI_API_URL", url.as_str()),
        ("IONET_API_KEY", sim_config.ionet_api_key.as_str()),
        ("IONET_API_URL", url.as_str()),
    ]);
    // The one setting an operator tunes for this traffic passes through, so its effect can be measured.
    let outer = EnvMap::load().expect("the environment");
    let env = match outer.get("HTTP_WORKERS") {
        Some(workers) => env.with("HTTP_WORKERS", workers),
        None => env,
    };
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");
    let http_workers = config.gateway.http_workers;
    let running = gpuproxy_daemon::start(Role::All, config)
        .await
        .expect("the server starts");
    let base = format!("http://{}", running.http_addr.expect("REST"));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");

    let email = "bench@example.com";
    let register = json!({"email": email, "password": "benchmark-password", "name": "Bench"});
    client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&register)
        .send()
        .await
        .expect("registered");
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": "benchmark-password"}))
        .send()
        .await
        .expect("logged in")
        .json()
        .await
        .expect("json");
    let token = login["token"].as_str().expect("a token");
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/apikey"))
        .bearer_auth(token)
        .json(&json!({"name": "bench"}))
        .send()
        .await
        .expect("a key")
        .json()
        .await
        .expect("json");
    let key = created["api_key"].as_str().expect("a key").to_owned();

    // A 16-GPU reservation with every provider call slowed down: the creates must run in parallel.
    let warm: serde_json::Value = client
        .get(format!("{base}/api/v1/gpu/instances?page_size=1"))
        .header("x-api-key", &key)
        .send()
        .await
        .expect("listed")
        .json()
        .await
        .expect("json");
    assert!(warm["total"].as_i64().is_some_and(|total| total >= 16));
    for provider in [SimProvider::VastAi, SimProvider::IoNet] {
        simulator.set_faults(
            provider,
            Faults {
                latency_ms: CREATE_LATENCY_MS,
                ..Faults::default()
            },
        );
    }
    let reserve = json!({"count": 16, "config": {"image": "vllm/vllm-openai:latest", "ports": [8000]}});
    let started = Instant::now();
    let reserved: serde_json::Value = client
        .post(format!("{base}/api/v1/gpu/instances/reserve"))
        .header("x-api-key", &key)
        .json(&reserve)
        .send()
        .await
        .expect("reserved")
        .json()
        .await
        .expect("json");
    let reserve_time = started.elapsed();
    assert_eq!(reserved["count"], 16, "{reserved}");
    for provider in [SimProvider::VastAi, SimProvider::IoNet] {
        simulator.set_faults(provider, Faults::default());
    }
    // Keep one instance for the proxy measurements.
    let mut endpoint = None;
    for entry in reserved["reserved"].as_array().expect("reserved").iter() {
        let path = format!(
            "{base}/api/v1/gpu/instances/{}/{}",
            entry["provider"].as_str().expect("provider"),
            entry["instance_id"].as_str().expect("id")
        );
        if endpoint.is_none() {
            endpoint = Some(path);
            continue;
        }
        client
            .delete(&path)
            .header("x-api-key", &key)
            .send()
            .await
            .expect("destroyed");
    }
    let instance_path = endpoint.expect("one instance kept");
    let upstream = loop {
        let found: serde_json::Value = client
            .get(&instance_path)
            .header("x-api-key", &key)
            .send()
            .await
            .expect("found")
            .json()
            .await
            .expect("json");
        if found["data"]["status"] == "running" {
            break found["data"]["metadata"]["endpoint"]
                .as_str()
                .expect("an endpoint")
                .to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let nginx = start_nginx(dir.path(), upstream.trim_start_matches("http://"));
    let mut targets = vec![
        Target {
            name: "straight to the upstream",
            url: format!("{upstream}/health"),
            key: None,
        },
        Target {
            name: "through GPU Proxy (/api/v1/gpu/route)",
            url: format!("{base}/api/v1/gpu/route/health"),
            key: Some(key.clone()),
        },
    ];
    if let Some((_, port)) = &nginx {
        targets.push(Target {
            name: NGINX,
            url: format!("http://127.0.0.1:{port}/health"),
            key: None,
        });
    }
    let bare = start_bare_proxy(upstream.clone(), &running.tasks).await;
    targets.push(Target {
        name: "bare axum + reqwest proxy (no middleware, auth or balancing)",
        url: format!("{bare}/health"),
        key: None,
    });
    let pooled = start_pooled_proxy(upstream.clone(), &running.tasks).await;
    targets.push(Target {
        name: "bare axum + the route's instance connections (no middleware, auth or balancing)",
        url: format!("{pooled}/health"),
        key: None,
    });
    // The gateway's floors: what its HTTP stack and middleware cost with nothing behind them, and
    // with authentication and one internal call (the same kind of call the route makes to pick).
    targets.push(Target {
        name: "GPU Proxy's own GET /health/live (no auth, no proxying)",
        url: format!("{base}/health/live"),
        key: None,
    });
    targets.push(Target {
        name: "GPU Proxy, authenticated, one internal call (GET /api/v1/loadbalancer/strategy)",
        url: format!("{base}/api/v1/loadbalancer/strategy"),
        key: Some(key.clone()),
    });

    let mut rows = Vec::new();
    for target in &targets {
        let samples = latencies(&client, target).await;
        println!(
            "{}: p50 {:.3} ms, p99 {:.3} ms",
            target.name,
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.99)),
        );
        rows.push(Row {
            name: target.name,
            p50: percentile(&samples, 0.5),
            p99: percentile(&samples, 0.99),
            rps: Vec::new(),
        });
    }
    // Throughput of the compared paths (upstream, route, nginx) in interleaved rounds, so that a
    // slow spell of the machine falls on all three rather than on one, each round starting with
    // the next of them so that none always runs first or right after another; the floors once each.
    let compared = if nginx.is_some() { 3 } else { 2 };
    for round in 0..ROUNDS {
        let order = (0..compared)
            .map(|step| (round + step) % compared)
            .chain(if round == 0 { compared..targets.len() } else { 0..0 });
        for index in order {
            let target = &targets[index];
            // wrk runs off the runtime's workers, so the server keeps both of them.
            let (url, key) = (target.url.clone(), target.key.clone());
            let rps = tokio::task::spawn_blocking(move || throughput(&url, key.as_deref()))
                .await
                .expect("wrk ran");
            if let Some(rps) = rps {
                println!("round {}: {}: {rps:.0} req/s", round + 1, target.name);
                rows[index].rps.push(rps);
            }
        }
    }
    if let Some((mut child, _)) = nginx {
        // SIGTERM: nginx stops its workers too (SIGKILL, which `Child::kill` sends, leaves them
        // running without their master).
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }

    let (direct, ours) = (&rows[0], &rows[1]);
    let mut report = String::new();
    let _ = writeln!(report, "# Proxy overhead and reservation time\n");
    let _ = writeln!(
        report,
        "Embedded server (release), simulator upstream `GET /health` on loopback, {LATENCY_SAMPLES} sequential \
         requests per target for latency; `wrk -t2 -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s` (a separate process, \
         sharing the machine's {} cores with the server) for throughput: {ROUNDS} interleaved rounds of the \
         first three rows (median shown), one of each floor. Rate limits off; the API key is authenticated \
         (cached) on every request; {http_workers} REST workers.\n",
        std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get)
    );
    let _ = writeln!(report, "| path | p50 | p99 | throughput |\n|---|---|---|---|");
    for row in &rows {
        let _ = writeln!(
            report,
            "| {} | {:.3} ms | {:.3} ms | {} |",
            row.name,
            ms(row.p50),
            ms(row.p99),
            row.median_rps()
                .map_or("wrk not installed".to_owned(), |rps| format!("{rps:.0} req/s"))
        );
    }
    let _ = writeln!(
        report,
        "\n**Added by GPU Proxy**: {:.3} ms at the median, {:.3} ms at p99 (target: under 0.3 ms at the median).",
        ms(ours.p50.saturating_sub(direct.p50)),
        ms(ours.p99.saturating_sub(direct.p99))
    );
    if let Some(nginx_row) = rows.iter().find(|row| row.name == NGINX)
        && let (Some(ours_rps), Some(nginx_rps)) = (ours.median_rps(), nginx_row.median_rps())
    {
        let per_round: Vec<String> = ours
            .rps
            .iter()
            .zip(&nginx_row.rps)
            .map(|(ours, nginx)| format!("{:.2}", ours / nginx))
            .collect();
        let _ = writeln!(
            report,
            "nginx adds {:.3} ms at the median. Throughput through GPU Proxy is {:.2}× nginx's (medians; \
             rounds: {}) (target: at least 0.8×).",
            ms(nginx_row.p50.saturating_sub(direct.p50)),
            ours_rps / nginx_rps,
            per_round.join(", ")
        );
    }
    let _ = writeln!(
        report,
        "\n**Reserving 16 GPUs** with {CREATE_LATENCY_MS} ms injected on every provider call (each rent is one call; the instances then start on their own): {:.0} ms end to end (target: under 1500 ms).",
        ms(reserve_time)
    );
    println!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-reports");
    std::fs::create_dir_all(&out).expect("bench-reports");
    std::fs::write(out.join("proxy_overhead.md"), report).expect("report written");
    running.tasks.shutdown();
}
