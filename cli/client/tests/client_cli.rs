//! The client, run as a process against an embedded server.
#![allow(clippy::expect_used, reason = "a test fails loudly at the step that broke")]

use std::process::{Command, Output};

use gpuproxy_config::EnvMap;
use gpuproxy_daemon::{DaemonConfig, Role};

fn client(server: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aiserve-gpuproxy-client"))
        .args(["--server", server])
        .args(args)
        .env_clear()
        .output()
        .expect("the client runs")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_registers_logs_in_and_manages_keys_from_the_terminal() {
    let data = tempfile::tempdir().expect("temp dir");
    let env = EnvMap::from_pairs([
        ("JWT_SECRET", "client-test-secret-client-test-secret!"),
        ("SERVER_HOST", "127.0.0.1"),
        ("SERVER_PORT", "0"),
        ("GRPC_PORT", "0"),
        ("DATA_DIR", data.path().to_str().expect("path")),
    ]);
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");
    let running = gpuproxy_daemon::start(Role::All, config)
        .await
        .expect("server starts");
    let server = format!("http://{}", running.http_addr.expect("REST"));
    let email = "cli-user@example.com";

    let server_for_blocking = server.clone();
    tokio::task::spawn_blocking(move || {
        let server = server_for_blocking.as_str();
        let user = json(&client(
            server,
            &["--json", "register", email, "password123", "Jane Doe"],
        ));
        assert_eq!(user["email"], email);
        let login = json(&client(server, &["--json", "login", email, "password123"]));
        let token = login["token"].as_str().expect("a token").to_owned();
        let key = json(&client(
            server,
            &["--json", "--token", &token, "apikey", "create", "laptop"],
        ));
        let key = key["api_key"].as_str().expect("a key").to_owned();

        let whoami = json(&client(server, &["--json", "-key", &key, "whoami"]));
        assert_eq!(whoami["auth_method"], "api_key");
        let table = client(server, &["-key", &key, "-dv", "apikey", "list"]);
        let stdout = String::from_utf8_lossy(&table.stdout);
        let stderr = String::from_utf8_lossy(&table.stderr);
        assert!(stdout.contains("laptop") && stdout.contains("PREFIX"), "{stdout}");
        assert!(
            stderr.contains("GET ") && stderr.contains("→ 200"),
            "developer mode traces calls: {stderr}"
        );

        let refused = client(server, &["--json", "-key", "gpx_wrong", "whoami"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("INVALID_TOKEN"));
        let health = json(&client(server, &["--json", "health"]));
        assert_eq!(health["status"], "ok");
        let discovered = json(&client(server, &["--json", "agent", "discover"]));
        assert_eq!(discovered["agent"], "aiserve-gpuproxy");
        assert_eq!(discovered["actions"].as_array().map(Vec::len), Some(12));
        let table = client(server, &["agent", "discover"]);
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(
            table.contains("/api/v1/fipa") && table.contains("gpu.list"),
            "{table}"
        );

        let credits = json(&client(server, &["--json", "-key", &key, "credits"]));
        assert_eq!(
            (
                credits["credits_total"].as_f64(),
                credits["credits_auto_renew"].as_bool()
            ),
            (Some(0.0), Some(false))
        );
        let refused = client(server, &["--json", "-key", &key, "auto-renew", "on"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("VALIDATION_FAILED"));
        let renewing = json(&client(
            server,
            &["--json", "-key", &key, "auto-renew", "on", "--amount", "20"],
        ));
        assert_eq!(
            (
                renewing["credits_auto_renew"].as_bool(),
                renewing["auto_renew_amount"].as_f64()
            ),
            (Some(true), Some(20.0))
        );
        let off = json(&client(server, &["--json", "-key", &key, "auto-renew", "off"]));
        assert_eq!(off["credits_auto_renew"], false);
        let usage = json(&client(
            server,
            &["--json", "-key", &key, "usage", "--limit", "5"],
        ));
        assert_eq!(usage["total_count"], 0);
        let transactions = json(&client(server, &["--json", "-key", &key, "transactions"]));
        assert_eq!(transactions, serde_json::json!([]));
        let table = client(server, &["-key", &key, "usage"]);
        assert!(String::from_utf8_lossy(&table.stdout).contains("0 records"));

        // No provider key: the embedded server lists the simulator's market.
        let listing = json(&client(
            server,
            &[
                "--json",
                "-key",
                &key,
                "list",
                "vast.ai",
                "--gpu-model",
                "4090",
                "--max-price",
                "1",
            ],
        ));
        let offers = listing["data"].as_array().expect("offers");
        assert!(!offers.is_empty());
        assert!(offers.iter().all(|offer| {
            offer["provider"] == "vast.ai"
                && offer["gpu_model"]
                    .as_str()
                    .is_some_and(|model| model.contains("4090"))
                && offer["price_per_hour"].as_f64().is_some_and(|price| price <= 1.0)
        }));
        let table = client(server, &["-key", &key, "list", "--page-size", "3"]);
        let stdout = String::from_utf8_lossy(&table.stdout);
        assert!(
            stdout.contains("USD/HOUR") && stdout.contains("3 of "),
            "{stdout}"
        );
        let refused = client(server, &["-key", &key, "list", "aws"]);
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("VALIDATION_FAILED"));
    })
    .await
    .expect("the client steps pass");
    running.tasks.shutdown();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_reserves_balances_proxies_and_destroys_from_the_terminal() {
    let data = tempfile::tempdir().expect("temp dir");
    let env = EnvMap::from_pairs([
        ("JWT_SECRET", "client-test-secret-client-test-secret!"),
        ("SERVER_HOST", "127.0.0.1"),
        ("SERVER_PORT", "0"),
        ("GRPC_PORT", "0"),
        ("DATA_DIR", data.path().to_str().expect("path")),
        ("INSTANCE_POLL_INTERVAL", "100ms"),
    ]);
    let config = DaemonConfig::from_env_map(&env, false).expect("valid");
    let running = gpuproxy_daemon::start(Role::All, config)
        .await
        .expect("server starts");
    let server = format!("http://{}", running.http_addr.expect("REST"));

    tokio::task::spawn_blocking(move || {
        let server = server.as_str();
        let email = "cli-gpus@example.com";
        json(&client(
            server,
            &["--json", "register", email, "password123", "Jane Doe"],
        ));
        let login = json(&client(server, &["--json", "login", email, "password123"]));
        let token = login["token"].as_str().expect("a token").to_owned();
        let key = json(&client(
            server,
            &["--json", "--token", &token, "apikey", "create", "gpus"],
        ));
        let key = key["api_key"].as_str().expect("a key").to_owned();

        let refused = client(server, &["-key", &key, "reserve", "17"]);
        assert!(!refused.status.success(), "17 is refused before any call");
        // Without --json, reserve waits until every instance runs and then prints them.
        let reserved = client(
            server,
            &[
                "-key",
                &key,
                "reserve",
                "2",
                "--provider",
                "io.net",
                "--wait-timeout",
                "60",
            ],
        );
        let stdout = String::from_utf8_lossy(&reserved.stdout);
        assert!(
            reserved.status.success(),
            "{}",
            String::from_utf8_lossy(&reserved.stderr)
        );
        assert!(
            stdout.contains("running") && stdout.contains("io.net"),
            "{stdout}"
        );

        let mine = json(&client(server, &["--json", "-key", &key, "instances"]));
        let mine = mine.as_array().expect("instances");
        assert_eq!(mine.len(), 2);
        let strategy = json(&client(
            server,
            &["--json", "-key", &key, "lb-strategy", "least_connections"],
        ));
        assert_eq!(strategy["strategy"], "least_connections");
        let load = json(&client(server, &["--json", "-key", &key, "load", "server"]));
        assert_eq!(load["server_load"].as_array().map(Vec::len), Some(2), "{load}");
        let answer = json(&client(
            server,
            &[
                "--json", "-key", &key, "proxy", "http", "--method", "GET", "--path", "/health",
            ],
        ));
        assert_eq!(answer["status_code"], 200, "{answer}");

        for instance in mine {
            let destroyed = json(&client(
                server,
                &[
                    "--json",
                    "-key",
                    &key,
                    "destroy",
                    instance["provider"].as_str().expect("provider"),
                    instance["instance_id"].as_str().expect("id"),
                ],
            ));
            assert_eq!(destroyed["terminated"], true);
        }
        let mine = json(&client(server, &["--json", "-key", &key, "instances"]));
        assert_eq!(mine.as_array().map(Vec::len), Some(0));
    })
    .await
    .expect("the client steps pass");
    running.tasks.shutdown();
}
