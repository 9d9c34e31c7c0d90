//! `aiserve-gpuproxyd` as a process: refusing a weak configuration, starting, stopping on SIGTERM.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly at the step that broke"
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn daemon(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aiserve-gpuproxyd"));
    command
        .current_dir(dir)
        .env_clear()
        .env("DATA_DIR", dir)
        .env("SERVER_HOST", "127.0.0.1")
        .env("SERVER_PORT", "0")
        .env("GRPC_PORT", "0");
    command
}

#[test]
fn outside_developer_mode_it_refuses_to_start_without_a_strong_jwt_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    for secret in [None, Some("too-short")] {
        let mut command = daemon(dir.path());
        if let Some(secret) = secret {
            command.env("JWT_SECRET", secret);
        }
        let output = command.output().expect("runs");
        assert_eq!(output.status.code(), Some(2), "{secret:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("JWT_SECRET"), "{stderr}");
        assert!(
            stderr.contains("openssl rand -base64 48"),
            "says how to generate one: {stderr}"
        );
        assert!(!stderr.contains("too-short"), "never echoes the secret: {stderr}");
    }
}

#[test]
fn it_starts_prints_where_it_listens_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = daemon(dir.path())
        .arg("-dv")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = Vec::new();
    let rest_line = loop {
        let line = lines.next().expect("the banner").expect("text");
        banner.push(line.clone());
        if line.trim_start().starts_with("REST") {
            break line;
        }
    };
    let base = rest_line
        .split_whitespace()
        .nth(1)
        .expect("a URL")
        .trim_end_matches("/api/v1")
        .to_owned();
    let address = base.trim_start_matches("http://").to_owned();
    let health = http_get(&address, "/health/live");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let rest_of_banner: Vec<String> = lines
        .by_ref()
        .take_while(Result::is_ok)
        .map_while(Result::ok)
        .take(9)
        .collect();
    let banner = [banner, rest_of_banner].concat().join("\n");
    assert!(
        banner.contains("First run: created the admin admin@gpuproxy.local"),
        "{banner}"
    );
    assert!(banner.contains("gRPC"), "{banner}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || exited.send(child.wait()));
    let status = exit
        .recv_timeout(Duration::from_secs(10))
        .expect("exits within 10 s of SIGTERM")
        .expect("waited");
    assert!(status.success(), "a clean shutdown exits 0: {status:?}");
}

/// A minimal HTTP/1.1 GET, to keep this test free of an HTTP client dependency.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}
