//! Event fan-out: EVENTS events (default 10,000) published to NATS JetStream reach WS_CLIENTS
//! WebSocket clients (default 100) through a gateway and WEBHOOK_RECEIVERS webhook receivers
//! (default 10) through the webhooks service, all on loopback in fleet mode (PostgreSQL, Redis,
//! NATS). Reports end-to-end latency (publish to arrival) and how many were lost, and writes
//! `bench-reports/event_fanout.md`. Run: `cargo bench -p gpuproxy-integration-tests --bench event_fanout`.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark binary reports on standard output and fails loudly"
)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use gpuproxy_config::EnvMap;
use gpuproxy_integration_tests::{HookReceiver, Mode, TestFleet};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn setting(env: &EnvMap, name: &str, default: usize) -> usize {
    env.get(name)
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

fn percentile(sorted: &[i64], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let env = EnvMap::load().unwrap_or_default();
    let events = setting(&env, "EVENTS", 10_000);
    let clients = setting(&env, "WS_CLIENTS", 100);
    let receivers = setting(&env, "WEBHOOK_RECEIVERS", 10);
    let rate = setting(&env, "EVENTS_PER_SECOND", 1_000);
    let fleet = TestFleet::start_with(
        Mode::Fleet,
        &[("RATE_LIMIT_PER_MINUTE", "1000000"), ("LOG_LEVEL", "error")],
    )
    .await;
    let nats = fleet.nats.clone().expect("the fleet uses NATS");

    let mut hooks = Vec::with_capacity(receivers);
    for _ in 0..receivers {
        let (_, token) = fleet.rest.new_user().await;
        let (_, key) = fleet.rest.create_key(&token).await;
        let hook = HookReceiver::start().await;
        fleet
            .rest
            .subscribe_webhook(&key, &hook.url, &["catalog.provider.degraded"])
            .await;
        hooks.push(hook);
    }

    let url = format!("{}/ws", fleet.gateways[0].http.replacen("http", "ws", 1));
    let mut readers = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("upgraded");
        socket
            .send(Message::text(
                json!({"type": "subscribe", "channels": ["gpu_updates"]}).to_string(),
            ))
            .await
            .expect("sent");
        let _subscribed = socket.next().await.expect("a reply").expect("a frame");
        readers.spawn(async move {
            let mut latencies = Vec::with_capacity(events);
            let mut seen = HashSet::with_capacity(events);
            let mut closed = false;
            while seen.len() < events {
                match tokio::time::timeout(Duration::from_secs(30), socket.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        let arrived = now_us();
                        let message: serde_json::Value = serde_json::from_str(text.as_str()).expect("JSON");
                        let data = &message["payload"]["data"];
                        if seen.insert(data["n"].as_u64().expect("n")) {
                            latencies.push(arrived - data["sent_us"].as_i64().expect("sent_us"));
                        }
                    }
                    Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) => {
                        closed = true;
                        break;
                    }
                    Ok(Some(Ok(_))) => {}
                    Err(_) => break,
                }
            }
            (latencies, closed)
        });
    }

    let client = async_nats::connect(nats.url.as_deref().expect("a url"))
        .await
        .expect("nats");
    let jetstream = async_nats::jetstream::new(client);
    let subject = format!("{}.catalog.provider.degraded", nats.subject_prefix);
    let tick = Duration::from_millis(10);
    let per_tick = (rate / 100).max(1);
    let started = Instant::now();
    let mut next_tick = tokio::time::Instant::now();
    // The client holds a bounded number of unacknowledged publishes; wait for the oldest beyond 1,000.
    let mut acks = std::collections::VecDeque::with_capacity(1024);
    for n in 0..events {
        let event = json!({"id": uuid::Uuid::now_v7().to_string(), "event": "catalog.provider.degraded",
                           "timestamp": chrono::Utc::now().to_rfc3339(),
                           "data": {"provider": "bench", "reason": "fan-out benchmark", "n": n, "sent_us": now_us()}});
        let id = event["id"].as_str().unwrap().to_owned();
        let message = async_nats::jetstream::message::PublishMessage::build()
            .payload(event.to_string().into())
            .message_id(id);
        acks.push_back(
            jetstream
                .send_publish(subject.clone(), message)
                .await
                .expect("published"),
        );
        if acks.len() >= 1000
            && let Some(ack) = acks.pop_front()
        {
            ack.await.expect("stored by JetStream");
        }
        if n % per_tick == per_tick - 1 {
            next_tick += tick;
            tokio::time::sleep_until(next_tick).await;
        }
    }
    for ack in acks {
        ack.await.expect("stored by JetStream");
    }
    let published_in = started.elapsed();

    let mut ws_latencies = Vec::with_capacity(events * clients);
    let mut ws_lost = 0;
    let mut ws_dropped = 0;
    while let Some(reader) = readers.join_next().await {
        let (latencies, closed) = reader.expect("a reader");
        ws_lost += events - latencies.len();
        ws_dropped += usize::from(closed);
        ws_latencies.extend(latencies);
    }
    let ws_done = started.elapsed();

    let deadline = Instant::now() + Duration::from_secs(600);
    while hooks.iter().any(|hook| hook.count() < events) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let hooks_done = started.elapsed();
    let mut hook_latencies = Vec::with_capacity(events * receivers);
    let mut hook_lost = 0;
    let mut hook_duplicates = 0;
    for hook in &hooks {
        let mut seen = HashSet::with_capacity(events);
        for request in hook.received() {
            let data = &request.json()["data"];
            if seen.insert(data["n"].as_u64().expect("n")) {
                hook_latencies.push(request.at_unix_us - data["sent_us"].as_i64().expect("sent_us"));
            } else {
                hook_duplicates += 1;
            }
        }
        hook_lost += events - seen.len();
    }
    ws_latencies.sort_unstable();
    hook_latencies.sort_unstable();

    let mut report = String::new();
    let _ = writeln!(report, "# Event fan-out\n");
    let _ = writeln!(
        report,
        "{events} events published to NATS JetStream at {rate}/s (in {:.1} s), fleet mode on loopback \
         (PostgreSQL, Redis, NATS; {} cores). Latency is from publishing to arrival.\n",
        published_in.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let _ = writeln!(
        report,
        "| path | receivers | messages | p50 | p99 | max | lost | done after |\n|---|---|---|---|---|---|---|---|"
    );
    let _ = writeln!(
        report,
        "| WebSocket `/ws` | {clients} clients ({ws_dropped} dropped) | {} | {:.2} ms | {:.2} ms | {:.2} ms | {ws_lost} | {:.1} s |",
        ws_latencies.len(),
        percentile(&ws_latencies, 0.5),
        percentile(&ws_latencies, 0.99),
        percentile(&ws_latencies, 1.0),
        ws_done.as_secs_f64()
    );
    let _ = writeln!(
        report,
        "| webhooks | {receivers} receivers | {} (+{hook_duplicates} duplicates) | {:.2} ms | {:.2} ms | {:.2} ms | {hook_lost} | {:.1} s |",
        hook_latencies.len(),
        percentile(&hook_latencies, 0.5),
        percentile(&hook_latencies, 0.99),
        percentile(&hook_latencies, 1.0),
        hooks_done.as_secs_f64()
    );
    println!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench-reports");
    std::fs::create_dir_all(&out).expect("bench-reports");
    std::fs::write(out.join("event_fanout.md"), report).expect("report written");
    drop(fleet);
}
