//! A webhook receiver written from the README alone: it records what arrives, answers as told, and
//! checks signatures with its own HMAC code (not the server's).

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test fixtures fail the test that uses them, loudly"
)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{KeyInit, Mac};

/// One request as received.
#[derive(Debug, Clone)]
pub struct HookRequest {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its raw body.
    pub body: String,
    /// When it arrived, in microseconds since the Unix epoch.
    pub at_unix_us: i64,
}

impl HookRequest {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
struct Shared {
    received: Arc<Mutex<Vec<HookRequest>>>,
    status: Arc<Mutex<StatusCode>>,
}

/// A receiver listening on loopback, addressed as `http://localhost:<port>/hook` (the test
/// fleets allow-list `localhost`, so `127.0.0.1` stays forbidden).
#[derive(Debug)]
pub struct HookReceiver {
    /// Where to subscribe.
    pub url: String,
    shared: Shared,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Drop for HookReceiver {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl HookReceiver {
    /// Starts a receiver that answers 200.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let shared = Shared {
            received: Arc::default(),
            status: Arc::new(Mutex::new(StatusCode::OK)),
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        let shutdown = tokio_util::sync::CancellationToken::new();
        let stop = shutdown.clone();
        let tasks = gpuproxy_server::Tasks::new();
        tasks.spawn("test-hook-receiver", async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await?;
            Ok(())
        });
        HookReceiver {
            url: format!("http://localhost:{port}/hook"),
            shared,
            shutdown,
        }
    }

    /// Answers `status` from now on.
    pub fn answer(&self, status: StatusCode) {
        *self.shared.status.lock().unwrap() = status;
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        self.shared.received.lock().unwrap().len()
    }

    /// What arrived so far.
    pub fn received(&self) -> Vec<HookRequest> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived, and returns them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<HookRequest> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} webhook requests within {within:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.received.lock().unwrap().push(HookRequest {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at_unix_us: chrono::Utc::now().timestamp_micros(),
    });
    *shared.status.lock().unwrap()
}

fn hmac_sha256_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks both signatures as the README tells receivers to, refusing a header timestamp older than
/// `tolerance`; returns why a request is refused.
pub fn verify_signature(request: &HookRequest, secret: &str, tolerance: Duration) -> Result<(), String> {
    let header = request.header("x-gpuproxy-signature");
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("no timestamp")?;
    let age = chrono::Utc::now().timestamp() - timestamp;
    if age.unsigned_abs() > tolerance.as_secs() {
        return Err(format!("signed {age}s ago"));
    }
    let expected = hmac_sha256_hex(secret, format!("{timestamp}.{}", request.body).as_bytes());
    if !signatures.contains(&expected) {
        return Err("the header signature does not match".to_owned());
    }
    let signature = request.json()["signature"]
        .as_str()
        .ok_or("no signature in the body")?
        .to_owned();
    let unsigned = request
        .body
        .replacen(&format!(",\"signature\":\"{signature}\""), "", 1);
    if hmac_sha256_hex(secret, unsigned.as_bytes()) != signature {
        return Err("the body signature does not match".to_owned());
    }
    Ok(())
}
