//! A webhook receiver written from the README alone: it records what arrives, answers as told,
//! and checks signatures with its own HMAC code.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{KeyInit, Mac};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone)]
struct Behaviour {
    status: StatusCode,
    delay: Duration,
}

#[derive(Debug, Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

/// A receiver listening on `localhost:<port>`.
#[derive(Debug)]
pub struct Receiver {
    pub url: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    /// Answers 200 at once.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        Self::serve(listener)
    }

    /// Listens on `port` (one a test reserved and released).
    pub async fn start_on(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the port is free again");
        Self::serve(listener)
    }

    fn serve(listener: tokio::net::TcpListener) -> Self {
        let port = listener.local_addr().expect("an address").port();
        let shared = Shared {
            received: Arc::default(),
            behaviour: Arc::new(Mutex::new(Behaviour {
                status: StatusCode::OK,
                delay: Duration::ZERO,
            })),
        };
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(shared.clone());
        #[expect(clippy::disallowed_methods, reason = "a test server that dies with its test")]
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            url: format!("http://localhost:{port}/hook"),
            shared,
            server,
        }
    }

    pub fn answer(&self, status: StatusCode) {
        self.shared.behaviour.lock().unwrap().status = status;
    }

    pub fn delay(&self, delay: Duration) {
        self.shared.behaviour.lock().unwrap().delay = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived, and returns them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} requests within {within:?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let behaviour = shared.behaviour.lock().unwrap().clone();
    tokio::time::sleep(behaviour.delay).await;
    shared.received.lock().unwrap().push(Received {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    behaviour.status
}

fn hmac_sha256_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Checks both signatures as the README tells receivers to, refusing anything older than
/// `tolerance`; returns why a request is refused.
pub fn verify(request: &Received, secret: &str, tolerance: Duration) -> Result<(), String> {
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
