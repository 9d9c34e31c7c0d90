//! Check-and-record (`ReserveSpend`) against the real Redis on 127.0.0.1:6379, paced at 1,000 calls
//! a second for 10 seconds, with a limit in all 17 windows.
//!
//! Calls are sent open-loop (each starts at its scheduled time, whether or not earlier ones have
//! answered), so a slow call cannot hide the ones queued behind it. Latency runs from a call's
//! start to its answer; tokio's timer fires in whole milliseconds, so the lag of each start behind
//! its schedule (pacing, not the service) is reported apart. Two runs: the calls spread over 1,000
//! users, and all on one user, whose 10,000 spends land in the same buckets (a ledger's size does
//! not grow with the spending). `INFO commandstats` before and after counts the commands Redis ran,
//! to show one round trip (one EVAL) per check. Writes `bench-reports/guardrails_check.md`.
#![allow(
    clippy::expect_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    reason = "a benchmark binary reports on standard output"
)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use gpuproxy_config::EnvMap;
use gpuproxy_domain::SpendWindow;
use gpuproxy_events::EventBus;
use gpuproxy_proto::gpuproxy::guardrails::v1 as pb;
use gpuproxy_proto::gpuproxy::guardrails::v1::guardrails_service_client::GuardrailsServiceClient;
use gpuproxy_server::{GrpcChannel, HostedService, ServiceContext, Tasks};
use gpuproxy_testkit::TestDatabase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, MissedTickBehavior};

const RATE_PER_SECOND: u64 = 1_000;
const SECONDS: u64 = 10;
/// One cent: far below every limit, so every call is a full check that also records.
const AMOUNT_MICROS: i64 = 10_000;

struct Run {
    label: String,
    latencies: Vec<Duration>,
    /// How late each call started after its scheduled time, sorted.
    lags: Vec<Duration>,
    refused: usize,
    /// Calls that failed (Redis timed out, `SERVICE_UNAVAILABLE`).
    failed: usize,
    commands: BTreeMap<String, u64>,
    /// Microseconds Redis spent in EVAL (the script included).
    eval_micros: u64,
}

/// What one call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Allowed,
    Refused,
    Failed,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let limits: Vec<(String, String)> = SpendWindow::ALL
        .iter()
        .map(|window| (window.limit_variable(), "1000000".to_owned()))
        .chain([("GUARDRAILS_ENABLED".to_owned(), "true".to_owned())])
        .collect();
    let mut config = gpuproxy_guardrails::Config::from_env_map(&EnvMap::from_pairs(limits), false)
        .expect("valid configuration");
    config.server.listen = None;
    config.redis = gpuproxy_testkit::redis_config();
    let database = TestDatabase::sqlite();
    config.database = database.config().clone();
    let app = gpuproxy_guardrails::App::build(config, ServiceContext::new(EventBus::in_process()))
        .await
        .expect("the service builds (is Redis running on 127.0.0.1:6379?)");
    let client = GuardrailsServiceClient::new(app.host().in_process_channel());
    let tasks = Tasks::new();
    app.spawn(&tasks);

    // Warm the connections and the script cache, off the clock.
    for n in 0..200 {
        reserve(&client, format!("warm-{n}")).await;
    }
    let runs = [
        paced(&client, "1,000 users", 1_000).await,
        paced(&client, "one user", 1).await,
    ];
    tasks.shutdown();
    write_report(&runs);
}

async fn reserve(client: &GuardrailsServiceClient<GrpcChannel>, user_id: String) -> Answer {
    let answer = client
        .clone()
        .reserve_spend(pb::ReserveSpendRequest {
            user_id,
            amount_micros: AMOUNT_MICROS,
            idempotency_key: String::new(),
        })
        .await;
    match answer {
        Ok(answer) if answer.get_ref().allowed => Answer::Allowed,
        Ok(_) => Answer::Refused,
        Err(_) => Answer::Failed,
    }
}

async fn paced(client: &GuardrailsServiceClient<GrpcChannel>, label: &str, users: u64) -> Run {
    let run = uuid_like();
    let before = command_stats().await;
    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_SECOND));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..RATE_PER_SECOND * SECONDS {
        let scheduled: Instant = ticks.tick().await;
        let client = client.clone();
        let user_id = format!("bench-{run}-{}", n % users);
        calls.spawn(async move {
            let started = Instant::now();
            let answer = reserve(&client, user_id).await;
            (started.elapsed(), started - scheduled, answer)
        });
    }
    let answers = calls.join_all().await;
    let after = command_stats().await;
    let delta = |name: &str, pick: fn(&(u64, u64)) -> u64| {
        after.get(name).map_or(0, pick) - before.get(name).map_or(0, pick)
    };
    let commands = after
        .keys()
        .map(|name| (name.clone(), delta(name, |stats| stats.0)))
        .filter(|(name, calls)| *calls > 0 && name != "info")
        .collect();
    let eval_micros = delta("eval", |stats| stats.1) + delta("evalsha", |stats| stats.1);
    let mut latencies: Vec<Duration> = answers.iter().map(|(latency, _, _)| *latency).collect();
    latencies.sort_unstable();
    let mut lags: Vec<Duration> = answers.iter().map(|(_, lag, _)| *lag).collect();
    lags.sort_unstable();
    let count = |wanted: Answer| answers.iter().filter(|(_, _, answer)| *answer == wanted).count();
    let run = Run {
        label: label.to_owned(),
        refused: count(Answer::Refused),
        failed: count(Answer::Failed),
        latencies,
        lags,
        commands,
        eval_micros,
    };
    println!("{}", row(&run));
    run
}

/// `cmdstat_<name>:calls=N,usec=M,…` of `INFO commandstats` as `(calls, usec)`, over a plain RESP connection.
async fn command_stats() -> BTreeMap<String, (u64, u64)> {
    let servers = gpuproxy_testkit::TestServers::from_env();
    let mut stream = tokio::net::TcpStream::connect((servers.redis_host.as_str(), servers.redis_port))
        .await
        .expect("redis");
    stream
        .write_all(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n")
        .await
        .expect("sent");
    let mut reply = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let read = stream.read(&mut buffer).await.expect("read");
        reply.extend_from_slice(&buffer[..read]);
        // A bulk string: `$<len>\r\n<body>\r\n`.
        let text = String::from_utf8_lossy(&reply);
        if let Some((header, body)) = text.split_once("\r\n")
            && let Ok(length) = header.trim_start_matches('$').parse::<usize>()
            && body.len() >= length
        {
            return body
                .lines()
                .filter_map(|line| line.strip_prefix("cmdstat_"))
                .filter_map(|line| {
                    let (name, fields) = line.split_once(':')?;
                    let field = |wanted: &str| -> Option<u64> {
                        fields
                            .split(',')
                            .find_map(|field| field.strip_prefix(wanted))?
                            .parse()
                            .ok()
                    };
                    Some((name.to_owned(), (field("calls=")?, field("usec=")?)))
                })
                .collect();
        }
        if read == 0 {
            return BTreeMap::new();
        }
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

fn millis(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1000.0)
}

fn row(run: &Run) -> String {
    let calls = run.latencies.len();
    let evals =
        run.commands.get("eval").copied().unwrap_or(0) + run.commands.get("evalsha").copied().unwrap_or(0);
    let commands: Vec<String> = run
        .commands
        .iter()
        .map(|(name, count)| format!("{name} {count}"))
        .collect();
    format!(
        "| {} | {calls} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.0} µs | {} |",
        run.label,
        run.refused,
        run.failed,
        millis(percentile(&run.latencies, 0.50)),
        millis(percentile(&run.latencies, 0.99)),
        millis(percentile(&run.latencies, 0.999)),
        millis(run.latencies.last().copied().unwrap_or_default()),
        millis(percentile(&run.lags, 0.99)),
        evals as f64 / calls.max(1) as f64,
        run.eval_micros as f64 / evals.max(1) as f64,
        commands.join(", ")
    )
}

fn write_report(runs: &[Run]) {
    let mut report = format!(
        "# Guard-rail check-and-record (`ReserveSpend`) against Redis\n\n\
         {RATE_PER_SECOND} calls/s for {SECONDS} s, open-loop, through the service's gRPC API (in-process channel), \
         all 17 windows with a limit, Redis on 127.0.0.1:6379. Latency runs from each call's start to its answer; \
         the start lag (how late tokio's millisecond timer started a call) is pacing, not the service.\n\n\
         | users | calls | refused | failed | p50 | p99 | p99.9 | max | start lag p99 | EVALs per call | Redis time per EVAL | Redis commands (delta) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for run in runs {
        report.push_str(&row(run));
        report.push('\n');
    }
    report.push_str(
        "\nRedis counts the commands a script runs too (HMGET, HINCRBY, HSET, PEXPIRE, HGET and HDEL as buckets \
         leave a window), so the \
         round trips are the EVALs: one per check, and no other command from the client. \
         Target: p99 under 1 ms.\n",
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench-reports/guardrails_check.md");
    if let Some(parent) = path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match std::fs::write(&path, &report) {
        Ok(()) => println!("{report}\nwritten to {}", path.display()),
        Err(error) => println!("{report}\nnot written to {}: {error}", path.display()),
    }
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos())
    )
}
