//! What authentication adds to a request through the gateway, with the credential cached.
//!
//! Drives the real REST router of an embedded fleet (auth service in-process, SQLite, in-memory rate
//! limits) without a socket, and compares medians: a public route against the same-sized
//! authenticated one with an API key and with a JWT. The authenticated path includes the cache
//! lookup (a SHA-256 of the credential), the rate-limit window increment and writing the
//! `X-RateLimit-*` headers. Writes `bench-reports/auth_overhead.md`.
#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    reason = "a benchmark binary reports on standard output"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::Criterion;
use gpuproxy_config::{AUTH, EnvMap};
use gpuproxy_daemon::DaemonConfig;
use gpuproxy_events::EventBus;
use gpuproxy_gateway::rest::RestService;
use gpuproxy_server::{HostedService, Peers, ServiceContext, Tasks};
use gpuproxy_telemetry::Metrics;
use http::Request;
use tower::ServiceExt;

const PUBLIC: &str = "public GET /health/live";
const API_KEY: &str = "authenticated GET /api/v1/auth/me (API key)";
const JWT: &str = "authenticated GET /api/v1/auth/me (JWT)";
const UNAUTHENTICATED: &str = "refused GET /api/v1/auth/me (no credentials)";

struct Fleet {
    router: RestService,
    key: String,
    token: String,
    _tasks: Tasks,
    _dir: tempfile::TempDir,
}

async fn fleet() -> Fleet {
    let dir = tempfile::tempdir().expect("temp dir");
    let env = EnvMap::from_pairs([
        ("JWT_SECRET", "benchmark-secret-benchmark-secret-benchmark"),
        ("SERVER_HOST", "127.0.0.1"),
        ("SERVER_PORT", "0"),
        ("GRPC_PORT", "0"),
        ("DATA_DIR", dir.path().to_str().expect("path")),
        // Counting still happens on every request; the limit is only high enough not to refuse.
        ("RATE_LIMIT_PER_MINUTE", "1000000"),
        ("LOG_LEVEL", "error"),
    ]);
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");
    let mut auth_config = config
        .service_config::<gpuproxy_auth::App>()
        .cloned()
        .expect("auth's configuration");
    auth_config.server.listen = None;
    let bus = EventBus::in_process();
    let auth = gpuproxy_auth::App::build(auth_config, ServiceContext::new(bus.clone()))
        .await
        .expect("auth builds");
    let service = auth.service().clone();
    // The routes measured here reach no service but auth: the others are lazy channels to nowhere.
    let mut peers = Peers::remote(&config.peers).expect("lazy channels");
    peers.insert(&AUTH, auth.host().in_process_channel());
    let dependencies = ServiceContext {
        bus,
        metrics: Metrics::new(),
        peers,
    };
    let gateway = gpuproxy_gateway::App::build(config.gateway, dependencies)
        .await
        .expect("gateway builds");
    let router = gateway.router();
    let tasks = Tasks::new();
    auth.spawn(&tasks);
    gateway.spawn(&tasks);

    let registration = gpuproxy_auth::Registration {
        email: "bench@example.com",
        password: "benchmark-password",
        name: "Bench",
        is_admin: false,
    };
    let user = service.register(registration).await.expect("registered");
    let (_, secret) = service.create_api_key(user.id, "bench", None).await.expect("key");
    let login = service
        .login("bench@example.com", "benchmark-password", Default::default())
        .await
        .expect("login");
    Fleet {
        router,
        key: secret.expose().to_owned(),
        token: login.token,
        _tasks: tasks,
        _dir: dir,
    }
}

fn get(path: &str, header: Option<(&str, &str)>) -> Request<axum::body::Body> {
    let mut request = Request::get(path);
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    request.body(axum::body::Body::empty()).expect("request")
}

async fn call(router: &RestService, request: Request<axum::body::Body>, expected: u16) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status().as_u16(), expected);
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fleet = runtime.block_on(fleet());
    let bearer = format!("Bearer {}", fleet.token);
    // Warm the credential cache, as any second request of a client would find it.
    runtime.block_on(call(
        &fleet.router,
        get("/api/v1/auth/me", Some(("x-api-key", &fleet.key))),
        200,
    ));
    runtime.block_on(call(
        &fleet.router,
        get("/api/v1/auth/me", Some(("authorization", &bearer))),
        200,
    ));

    let output = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-reports/criterion");
    // Short rounds: at over 100,000 requests a second, the one user's two rounds (key and JWT) of
    // the default length pass RATE_LIMIT_PER_MINUTE's largest value and get 429s.
    let mut criterion = Criterion::default()
        .output_directory(&output)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let mut group = criterion.benchmark_group("gateway");
    group.bench_function(PUBLIC, |bench| {
        bench
            .to_async(&runtime)
            .iter(|| call(&fleet.router, get("/health/live", None), 200));
    });
    group.bench_function(API_KEY, |bench| {
        bench.to_async(&runtime).iter(|| {
            call(
                &fleet.router,
                get("/api/v1/auth/me", Some(("x-api-key", &fleet.key))),
                200,
            )
        });
    });
    group.bench_function(JWT, |bench| {
        bench.to_async(&runtime).iter(|| {
            call(
                &fleet.router,
                get("/api/v1/auth/me", Some(("authorization", &bearer))),
                200,
            )
        });
    });
    group.bench_function(UNAUTHENTICATED, |bench| {
        bench
            .to_async(&runtime)
            .iter(|| call(&fleet.router, get("/api/v1/auth/me", None), 401));
    });
    group.finish();
    criterion.final_summary();
    write_report(&output.join("gateway"));
}

/// Reads criterion's median estimates and writes the comparison the acceptance criterion asks for.
fn write_report(results: &Path) {
    let median = |name: &str| -> Option<f64> {
        let directory: PathBuf = results.join(name.replace('/', "_"));
        let text = std::fs::read_to_string(directory.join("new/estimates.json")).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json["median"]["point_estimate"]
            .as_f64()
            .map(|nanos| nanos / 1000.0)
    };
    let (Some(public), Some(key), Some(jwt), Some(refused)) = (
        median(PUBLIC),
        median(API_KEY),
        median(JWT),
        median(UNAUTHENTICATED),
    ) else {
        println!(
            "no complete estimates under {} (run with `cargo bench`)",
            results.display()
        );
        return;
    };
    let report = format!(
        "# Authentication overhead (median, in-process router, cached credential)\n\n\
         | request | median |\n|---|---|\n\
         | {PUBLIC} | {public:.1} µs |\n| {API_KEY} | {key:.1} µs |\n| {JWT} | {jwt:.1} µs |\n| {UNAUTHENTICATED} | {refused:.1} µs |\n\n\
         Added by authentication with an API key: **{:.1} µs**; with a JWT: **{:.1} µs** (target: under 100 µs).\n",
        key - public,
        jwt - public
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-reports/auth_overhead.md");
    if std::fs::write(&path, &report).is_ok() {
        println!("\n{report}\nwritten to {}", path.display());
    }
}
