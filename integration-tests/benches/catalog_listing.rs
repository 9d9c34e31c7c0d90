//! Listing GPU offers through the gateway, over real sockets, with 5,000 offers per provider in the
//! simulator: warm cache, and cold cache with 200 ms of latency injected on each provider (which
//! only stays under 400 ms if the two are queried in parallel). Writes
//! `bench-reports/catalog_listing.md`.
#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark binary reports on standard output"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use gpuproxy_config::{AUTH, CATALOG, EnvMap};
use gpuproxy_daemon::DaemonConfig;
use gpuproxy_events::EventBus;
use gpuproxy_provider_sim::{Faults, SimConfig, SimProvider, Simulator};
use gpuproxy_server::{HostedService, Peers, ServiceContext, Tasks};
use gpuproxy_telemetry::Metrics;

const OFFERS_PER_PROVIDER: usize = 5_000;
const WARM_SAMPLES: usize = 400;
const COLD_SAMPLES: usize = 15;
const INJECTED_LATENCY_MS: u64 = 200;

struct Bench {
    base: String,
    key: String,
    catalog: gpuproxy_catalog::Catalog,
    simulator: Simulator,
    first_listing: Duration,
    _tasks: Tasks,
    _dir: tempfile::TempDir,
}

async fn start() -> Bench {
    let sim_config = SimConfig {
        vastai_offers: OFFERS_PER_PROVIDER,
        ionet_devices: OFFERS_PER_PROVIDER,
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
        ("RATE_LIMIT_PER_MINUTE", "1000000"),
        ("LOG_LEVEL", "error"),
        ("VASTAI_API_KEY", sim_config.vastai_api_key.as_str()),
        ("VASTAI_API_URL", url.as_str()),
        ("IONET_API_KEY", sim_config.ionet_api_key.as_str()),
        ("IONET_API_URL", url.as_str()),
    ]);
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");
    let mut auth_config = config
        .service_config::<gpuproxy_auth::App>()
        .cloned()
        .expect("auth's configuration");
    auth_config.server.listen = None;
    let mut catalog_config = config
        .service_config::<gpuproxy_catalog::App>()
        .cloned()
        .expect("the catalog's configuration");
    catalog_config.server.listen = None;
    let bus = EventBus::in_process();
    let metrics = Metrics::new();
    let context = ServiceContext {
        bus: bus.clone(),
        metrics: metrics.clone(),
        peers: Peers::new(),
    };
    let auth = gpuproxy_auth::App::build(auth_config, context.clone())
        .await
        .expect("auth");
    let service = auth.service().clone();
    let catalog = gpuproxy_catalog::App::build(catalog_config, context)
        .await
        .expect("catalog");
    let catalog_handle = catalog.catalog().clone();
    // The routes measured here reach no service but auth and the catalog: the others are lazy
    // channels to nowhere.
    let mut peers = Peers::remote(&config.peers).expect("lazy channels");
    peers.insert(&AUTH, auth.host().in_process_channel());
    peers.insert(&CATALOG, catalog.host().in_process_channel());
    let dependencies = ServiceContext { bus, metrics, peers };
    let gateway = gpuproxy_gateway::App::build(config.gateway, dependencies)
        .await
        .expect("gateway");
    let base = format!("http://{}", gateway.http_addr().expect("bound"));
    let tasks = Tasks::new();
    auth.spawn(&tasks);
    let started = Instant::now();
    catalog.spawn(&tasks);
    gateway.spawn(&tasks);
    let user = service
        .register(gpuproxy_auth::Registration {
            email: "bench@example.com",
            password: "benchmark-password",
            name: "Bench",
            is_admin: false,
        })
        .await
        .expect("registered");
    let (_, secret) = service.create_api_key(user.id, "bench", None).await.expect("key");
    let listing = catalog_handle.list(&gpuproxy_catalog::Query::default()).await;
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
    Bench {
        base,
        key: secret.expose().to_owned(),
        catalog: catalog_handle,
        simulator,
        first_listing: started.elapsed(),
        _tasks: tasks,
        _dir: dir,
    }
}

async fn timed_get(client: &reqwest::Client, bench: &Bench, path: &str) -> (Duration, serde_json::Value) {
    let started = Instant::now();
    let response = client
        .get(format!("{}{path}", bench.base))
        .header("x-api-key", &bench.key)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    (started.elapsed(), body)
}

fn percentile(samples: &mut [Duration], fraction: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() - 1) as f64 * fraction).round() as usize;
    samples[index].as_secs_f64() * 1000.0
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let bench = start().await;
        let client = reqwest::Client::new();
        let (_, body) = timed_get(&client, &bench, "/api/v1/gpu/instances?page_size=1").await;
        let total = body["total"].as_u64().expect("total");

        let mut results = Vec::new();
        for (label, path) in [
            ("warm, default page (50, cheapest first)", "/api/v1/gpu/instances"),
            ("warm, filtered (min_vram=24&max_price=2)", "/api/v1/gpu/instances?min_vram=24&max_price=2"),
            ("warm, sorted by VRAM desc, page 10", "/api/v1/gpu/instances?sort=vram&order=desc&page=10"),
        ] {
            let mut samples = Vec::with_capacity(WARM_SAMPLES);
            for _ in 0..WARM_SAMPLES {
                let (took, body) = timed_get(&client, &bench, path).await;
                assert_eq!(body["warnings"], serde_json::json!([]));
                samples.push(took);
            }
            results.push((label, percentile(&mut samples, 0.5), percentile(&mut samples, 0.99)));
        }

        let latency = Faults {
            latency_ms: INJECTED_LATENCY_MS,
            ..Faults::default()
        };
        bench.simulator.set_faults(SimProvider::VastAi, latency.clone());
        bench.simulator.set_faults(SimProvider::IoNet, latency);
        let mut cold = Vec::with_capacity(COLD_SAMPLES);
        for _ in 0..COLD_SAMPLES {
            bench.catalog.clear_cache();
            let (took, body) = timed_get(&client, &bench, "/api/v1/gpu/instances").await;
            assert_eq!(body["warnings"], serde_json::json!([]), "both providers answered");
            cold.push(took);
        }
        let cold_median = percentile(&mut cold, 0.5);
        let cold_max = percentile(&mut cold, 1.0);
        let mut per_provider = Vec::new();
        for provider in ["vast.ai", "io.net"] {
            let mut samples = Vec::with_capacity(COLD_SAMPLES);
            for _ in 0..COLD_SAMPLES {
                bench.catalog.clear_cache();
                let path = format!("/api/v1/gpu/instances?provider={provider}");
                samples.push(timed_get(&client, &bench, &path).await.0);
            }
            per_provider.push((provider, percentile(&mut samples, 0.5)));
        }

        let mut report = format!(
            "# Listing GPU offers through the gateway\n\n\
             Simulator with {OFFERS_PER_PROVIDER} vast.ai offers and {OFFERS_PER_PROVIDER} io.net devices \
             ({total} listed offers: io.net's devices group into hardware × location × GPU-count offers); \
             REST over loopback with an API key, one request at a time; release build.\n\n\
             | case | median | p99 |\n|---|---|---|\n"
        );
        for (label, median, p99) in &results {
            report.push_str(&format!("| {label} | {median:.2} ms | {p99:.2} ms |\n"));
        }
        report.push_str(&format!(
            "| cold cache, {INJECTED_LATENCY_MS} ms injected on each provider ({COLD_SAMPLES} runs) | {cold_median:.1} ms | max {cold_max:.1} ms |\n"
        ));
        for (provider, median) in &per_provider {
            report.push_str(&format!(
                "| cold cache, {INJECTED_LATENCY_MS} ms injected, {provider} alone | {median:.1} ms | |\n"
            ));
        }
        report.push_str(&format!(
            "\n\
             Targets: warm median under 5 ms; cold under 300 ms. A cold listing makes one vast.ai search and, \
             for io.net, one availability call per hardware type and GPU count, all concurrently with vast.ai \
             (hardware types and price quotes are kept 10 minutes). The very first listing after start-up, \
             which also fetches io.net's hardware types and quotes (three dependent rounds), took {:.0} ms \
             without injected latency.\n",
            bench.first_listing.as_secs_f64() * 1000.0
        ));
        println!("{report}");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-reports/catalog_listing.md");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("report directory");
        }
        std::fs::write(&path, report).expect("report written");
        println!("written to {}", path.display());
    });
}
