//! The `guardrails-*` commands, run as processes against a running embedded server: keys are made
//! with the tool's own database commands, spending and checks go over REST as a user would.
#![allow(clippy::expect_used, reason = "a test fails loudly at the step that broke")]

use std::path::Path;
use std::process::{Command, Output};

use gpuproxy_config::EnvMap;
use gpuproxy_daemon::{DaemonConfig, FIRST_ADMIN_EMAIL, Role};
use serde_json::{Value, json};

const USER: &str = "spender@example.com";

fn admin(dir: &Path, url: &str, key: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aiserve-gpuproxy-admin"));
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATA_DIR", dir)
        .env("GPUPROXY_URL", url);
    if let Some(key) = key {
        command.env("GPUPROXY_API_KEY", key);
    }
    command.output().expect("the tool runs")
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn post(url: &str, key: &str, path: &str, body: Value) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .expect("the gateway answers")
        .status()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_reads_and_changes_a_users_guard_rails_from_the_terminal() {
    let data = tempfile::tempdir().expect("temp dir");
    let env = EnvMap::from_pairs([
        ("JWT_SECRET", "admin-cli-test-secret-admin-cli-test-secret"),
        ("SERVER_HOST", "127.0.0.1"),
        ("SERVER_PORT", "0"),
        ("GRPC_PORT", "0"),
        ("DATA_DIR", data.path().to_str().expect("path")),
        ("GUARDRAILS_ENABLED", "true"),
        ("GUARDRAILS_MAX_60MIN_RATE", "50"),
        ("GUARDRAILS_MAX_1440MIN_RATE", "200"),
    ]);
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");
    let running = gpuproxy_daemon::start(Role::All, config)
        .await
        .expect("server starts");
    let url = format!("http://{}", running.http_addr.expect("REST"));
    let dir = data.path().to_owned();
    let (admin_key, user_key) = {
        let (dir, url) = (dir.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            let admin_key = json_of(&admin(
                &dir,
                &url,
                None,
                &["--json", "create-apikey", FIRST_ADMIN_EMAIL, "ops"],
            ));
            json_of(&admin(
                &dir,
                &url,
                None,
                &["--json", "create-user", USER, "password123", "Spender"],
            ));
            let user_key = json_of(&admin(
                &dir,
                &url,
                None,
                &["--json", "create-apikey", USER, "laptop"],
            ));
            (
                admin_key["api_key"].as_str().expect("a key").to_owned(),
                user_key["api_key"].as_str().expect("a key").to_owned(),
            )
        })
        .await
        .expect("keys")
    };
    let recorded = post(
        &url,
        &user_key,
        "/api/v1/guardrails/spending/record",
        json!({"amount": 45.0}),
    )
    .await;
    assert_eq!(recorded, reqwest::StatusCode::OK);

    let commands = {
        let (dir, url, admin_key) = (dir.clone(), url.clone(), admin_key.clone());
        tokio::task::spawn_blocking(move || {
            let run = |args: &[&str]| admin(&dir, &url, Some(&admin_key), args);
            let status = json_of(&run(&["--json", "guardrails-status"]));
            assert_eq!(
                (status["enabled"].as_bool(), status["mode"].as_str()),
                (Some(true), Some("enforce"))
            );
            assert_eq!(status["limits"][3], json!({"window": "60min", "limit": 50.0}));
            let table = stdout(&run(&["guardrails-status"]));
            assert!(
                table.contains("60min") && table.contains("50.00") && table.contains("none"),
                "{table}"
            );

            let spending = json_of(&run(&["--json", "guardrails-spending", USER]));
            assert_eq!(
                (
                    spending["email"].as_str(),
                    spending["windows"][3]["spent"].as_f64()
                ),
                (Some(USER), Some(45.0))
            );
            let table = stdout(&run(&["guardrails-spending", USER]));
            assert!(
                table.contains("REMAINING") && table.contains("45.00") && table.contains("5.00"),
                "{table}"
            );

            let limits = json_of(&run(&[
                "--json",
                "guardrails-limits",
                USER,
                "--set",
                "60min=100",
                "--set",
                "72h=500",
            ]));
            assert_eq!(
                (
                    limits["windows"][3]["limit"].as_f64(),
                    limits["windows"][3]["overridden"].as_bool()
                ),
                (Some(100.0), Some(true))
            );
            assert_eq!(limits["windows"][16]["limit"], 500.0);
            let table = stdout(&run(&["guardrails-limits", USER]));
            assert!(table.contains("100.00") && table.contains("yes"), "{table}");
            let refused = run(&["guardrails-limits", USER, "--set", "2h=5"]);
            assert!(!refused.status.success());
            assert!(String::from_utf8_lossy(&refused.stderr).contains("VALIDATION_FAILED"));
        })
        .await
    };
    commands.expect("status, spending and limits");
    let checked = post(
        &url,
        &user_key,
        "/api/v1/guardrails/spending/check",
        json!({"estimated_cost": 25.0}),
    )
    .await;
    assert_eq!(checked, reqwest::StatusCode::OK, "$45 + $25 fits the user's $100");

    let commands = {
        let (dir, url, admin_key, user_key) = (dir.clone(), url.clone(), admin_key.clone(), user_key.clone());
        tokio::task::spawn_blocking(move || {
            let run = |args: &[&str]| admin(&dir, &url, Some(&admin_key), args);
            // A reset keeps spending of its own millisecond (it may have come after it): step past it.
            std::thread::sleep(std::time::Duration::from_millis(3));
            let reset = json_of(&run(&["--json", "guardrails-reset", USER, "60min"]));
            assert_eq!(reset["spending"]["windows"][3]["spent"], 0.0);
            assert_eq!(
                reset["spending"]["windows"][14]["spent"], 45.0,
                "the day keeps its spending"
            );
            let cleared = json_of(&run(&["--json", "guardrails-limits", USER, "--clear"]));
            assert!(
                cleared["windows"]
                    .as_array()
                    .expect("windows")
                    .iter()
                    .all(|window| window["overridden"] == false)
            );
            let not_admin = admin(&dir, &url, Some(&user_key), &["guardrails-status"]);
            assert!(!not_admin.status.success());
            assert!(String::from_utf8_lossy(&not_admin.stderr).contains("FORBIDDEN"));
            let no_key = admin(&dir, &url, None, &["guardrails-status"]);
            assert!(String::from_utf8_lossy(&no_key.stderr).contains("GPUPROXY_API_KEY"));

            // Credits and usage, also through the gateway: an idempotency key credits once.
            for _ in 0..2 {
                let credits = json_of(&run(&[
                    "--json",
                    "credits",
                    USER,
                    "--add",
                    "25",
                    "--reason",
                    "welcome",
                    "--idempotency-key",
                    "welcome-1",
                ]));
                assert_eq!(
                    (credits["email"].as_str(), credits["credits_total"].as_f64()),
                    (Some(USER), Some(25.0))
                );
            }
            let table = stdout(&run(&["credits", USER]));
            assert!(table.contains("25.00") && table.contains("REMAINING"), "{table}");
            let usage = json_of(&run(&["--json", "usage", USER]));
            assert_eq!(
                (usage["email"].as_str(), usage["total_count"].as_i64()),
                (Some(USER), Some(0))
            );
            assert!(stdout(&run(&["usage", USER])).contains("0 records"));
            let refused = admin(&dir, &url, Some(&user_key), &["credits", USER, "--add", "1000"]);
            assert!(String::from_utf8_lossy(&refused.stderr).contains("FORBIDDEN"));
        })
        .await
    };
    commands.expect("reset and clear");
    let checked = post(
        &url,
        &user_key,
        "/api/v1/guardrails/spending/check",
        json!({"estimated_cost": 60.0}),
    )
    .await;
    assert_eq!(
        checked,
        reqwest::StatusCode::PAYMENT_REQUIRED,
        "the global $50 again"
    );
    running.tasks.shutdown();
}
