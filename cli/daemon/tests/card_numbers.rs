//! A raw card number sent to the running server is refused, and appears in no log line and no
//! database file — checked by grepping what the process wrote, as an operator would.
#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails loudly at the step that broke"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const CARD: &str = "4242424242424242";

#[test]
fn a_raw_card_number_is_refused_and_never_logged_or_stored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("a log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aiserve-gpuproxyd"))
        .current_dir(dir.path())
        .env_clear()
        .env("DATA_DIR", dir.path())
        .env("SERVER_HOST", "127.0.0.1")
        .env("SERVER_PORT", "0")
        .env("GRPC_PORT", "0")
        .env("LOG_LEVEL", "trace")
        .env("LOG_FORMAT", "json")
        .env("STRIPE_SECRET_KEY", "sk_test_unreachable")
        .env("STRIPE_API_URL", "http://127.0.0.1:9")
        .arg("-dv")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let (mut address, mut password) = (None, None);
    while address.is_none() || password.is_none() {
        let line = lines.next().expect("the banner").expect("text");
        if line.trim_start().starts_with("REST") {
            let url = line.split_whitespace().nth(1).expect("a URL");
            address = Some(
                url.trim_start_matches("http://")
                    .trim_end_matches("/api/v1")
                    .to_owned(),
            );
        }
        if let Some(rest) = line.split(" with password ").nth(1) {
            password = Some(rest.trim().to_owned());
        }
    }
    let (address, password) = (address.expect("an address"), password.expect("a password"));
    let login = http(
        &address,
        "POST /api/v1/auth/login",
        &[],
        &format!(r#"{{"email":"admin@gpuproxy.local","password":"{password}"}}"#),
    );
    let token = login
        .split("\"token\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a token")
        .to_owned();
    let authorization = format!("Authorization: Bearer {token}");
    for (headers, body) in [
        (
            vec![
                authorization.as_str(),
                "X-Preferred-Payment: card:4242424242424242:12/25:123",
                "X-Billing: Stripe",
            ],
            r#"{"amount": 50.00, "currency": "USD", "provider": "stripe"}"#.to_owned(),
        ),
        (
            vec![authorization.as_str()],
            format!(
                r#"{{"amount": 50.00, "currency": "USD", "provider": "stripe", "payment_method": "card:{CARD}:12/25:123"}}"#
            ),
        ),
    ] {
        let answer = http(&address, "POST /api/v1/billing/payment", &headers, &body);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        assert!(answer.contains("RAW_CARD_REJECTED"), "{answer}");
        assert!(!answer.contains(CARD), "the answer never repeats it");
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || exited.send(child.wait()));
    exit.recv_timeout(Duration::from_secs(10))
        .expect("exits within 10 s")
        .expect("waited");

    let written = std::fs::read_to_string(&log_path).expect("the log");
    assert!(
        written.contains("/api/v1/billing/payment"),
        "the requests were logged at all"
    );
    for line in written.lines() {
        assert!(!line.contains(CARD), "a log line holds the card number: {line}");
    }
    for entry in std::fs::read_dir(dir.path()).expect("the data dir") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            let mut bytes = Vec::new();
            std::fs::File::open(&path)
                .expect("opens")
                .read_to_end(&mut bytes)
                .expect("reads");
            let found = bytes.windows(CARD.len()).any(|window| window == CARD.as_bytes());
            assert!(!found, "{} holds the card number", path.display());
        }
    }
}

/// A minimal HTTP/1.1 request, to keep this test free of an HTTP client dependency.
fn http(address: &str, request_line: &str, headers: &[&str], body: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    let mut request = format!("{request_line} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for header in headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str(&format!(
        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(request.as_bytes()).expect("sent");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}
