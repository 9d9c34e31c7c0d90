//! A webhook receiver written from the README alone: it records what arrives, answers as told
//! (status, delay), and checks signatures with its own HMAC code, not the server's.

use std::sync::{Arc, Mutex, PoisonError};
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

#[derive(Debug, Clone, Copy)]
struct Behaviour {
    status: StatusCode,
    delay: Duration,
}

#[derive(Debug, Clone)]
struct Shared {
    received: Arc<Mutex<Vec<HookRequest>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

/// A receiver on loopback, addressed as `http://localhost:<port>/hook` (test configurations
/// allow-list `localhost`, so `127.0.0.1` stays forbidden). Stops when dropped.
#[derive(Debug)]
pub struct HookReceiver {
    /// Where to subscribe.
    pub url: String,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for HookReceiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A receiver that is down (see [`HookReceiver::start_down`]).
#[derive(Debug)]
pub struct DownReceiver {
    /// Where to subscribe.
    pub url: String,
    up: tokio::sync::oneshot::Sender<()>,
    refusing: tokio::task::JoinHandle<tokio::net::TcpListener>,
}

impl DownReceiver {
    /// Brings the receiver up on the same port: it answers 200 at once from now on.
    pub async fn bring_up(self) -> HookReceiver {
        let _ = self.up.send(());
        let listener = self.refusing.await.expect("the refusing task ends");
        HookReceiver::serve(listener)
    }
}

impl HookReceiver {
    /// Starts a receiver that answers 200 at once.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a port");
        Self::serve(listener)
    }

    /// Starts a receiver that is down: its port is held (no other test can take it) but every
    /// connection is closed before a request is read, until [`DownReceiver::bring_up`].
    pub async fn start_down() -> DownReceiver {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("a port");
        let port = listener.local_addr().expect("an address").port();
        let (up, brought_up) = tokio::sync::oneshot::channel::<()>();
        #[expect(
            clippy::disallowed_methods,
            reason = "a test server that hands its listener back when brought up"
        )]
        let refusing = tokio::spawn(async move {
            let mut brought_up = brought_up;
            loop {
                tokio::select! {
                    _ = &mut brought_up => return listener,
                    accepted = listener.accept() => drop(accepted),
                }
            }
        });
        DownReceiver {
            url: format!("http://localhost:{port}/hook"),
            up,
            refusing,
        }
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
        #[expect(
            clippy::disallowed_methods,
            reason = "a test server that the receiver aborts when dropped"
        )]
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        HookReceiver {
            url: format!("http://localhost:{port}/hook"),
            shared,
            server,
        }
    }

    /// Answers `status` from now on.
    pub fn answer(&self, status: StatusCode) {
        lock(&self.shared.behaviour).status = status;
    }

    /// Waits `delay` before answering, from now on.
    pub fn delay(&self, delay: Duration) {
        lock(&self.shared.behaviour).delay = delay;
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        lock(&self.shared.received).len()
    }

    /// What arrived so far.
    pub fn received(&self) -> Vec<HookRequest> {
        lock(&self.shared.received).clone()
    }

    /// Waits until `count` requests arrived, and returns them.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<HookRequest> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.count() >= count {
                return self.received();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {count} webhook requests within {within:?}",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let behaviour = *lock(&shared.behaviour);
    tokio::time::sleep(behaviour.delay).await;
    lock(&shared.received).push(HookRequest {
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at_unix_us: chrono::Utc::now().timestamp_micros(),
    });
    behaviour.status
}

fn hmac_sha256_hex(secret: &str, message: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
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
