//! The admin tool, run as a process against a SQLite database.
#![allow(clippy::expect_used, reason = "a test fails loudly at the step that broke")]

use std::path::Path;
use std::process::{Command, Output};

fn admin(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aiserve-gpuproxy-admin"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("DATA_DIR", dir)
        .output()
        .expect("the tool runs")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn an_operator_creates_a_user_promotes_them_and_issues_a_key() {
    let dir = tempfile::tempdir().expect("temp dir");

    let migrated = admin(dir.path(), &["migrate"]);
    assert!(String::from_utf8_lossy(&migrated.stdout).contains("migrations applied"));
    let user = json(&admin(
        dir.path(),
        &[
            "--json",
            "create-user",
            "ops@example.com",
            "password123",
            "John Doe",
        ],
    ));
    assert_eq!(user["email"], "ops@example.com");
    assert_eq!(user["is_admin"], false);
    let promoted = json(&admin(dir.path(), &["--json", "make-admin", "ops@example.com"]));
    assert_eq!(promoted["is_admin"], true);
    let key = json(&admin(
        dir.path(),
        &["--json", "create-apikey", "ops@example.com", "Production Key"],
    ));
    assert!(key["api_key"].as_str().expect("a key").starts_with("gpx_"));

    let users = json(&admin(dir.path(), &["--json", "users"]));
    assert_eq!(users["total"], 1);
    let stats = json(&admin(dir.path(), &["--json", "stats"]));
    assert_eq!(
        (
            stats["users"].as_i64(),
            stats["admins"].as_i64(),
            stats["active_api_keys"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );

    let table = admin(dir.path(), &["users"]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("ops@example.com") && text.contains("EMAIL") && text.contains("yes"),
        "{text}"
    );
}

#[test]
fn mistakes_are_reported_with_a_failing_exit_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    admin(
        dir.path(),
        &["create-user", "dup@example.com", "password123", "A"],
    );

    let cases: [&[&str]; 4] = [
        &["create-user", "dup@example.com", "password123", "B"],
        &["create-user", "not-an-email", "password123", "B"],
        &["create-user", "x@example.com", "short", "B"],
        &["make-admin", "nobody@example.com"],
    ];
    for args in cases {
        let output = admin(dir.path(), args);
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("aiserve-gpuproxy-admin: "), "{stderr}");
    }
}
