//! A local webhook endpoint that records what it receives and answers a chosen status.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

/// One delivery as it arrived.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Delivery {
    /// Returns the header `name` as text, or "" when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    /// Returns the body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the delivery is JSON")
    }
}

#[derive(Clone, Default)]
struct Inbox {
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    answer: Arc<AtomicU16>,
}

/// A receiver at `url`, serving until dropped.
pub struct Receiver {
    pub url: String,
    inbox: Inbox,
    _stop: DropGuard,
}

impl Receiver {
    /// Starts a receiver answering `200` on `/hooks`.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let inbox = Inbox::default();
        inbox.answer.store(200, Ordering::SeqCst);
        let app = Router::new()
            .route("/hooks", post(record))
            .with_state(inbox.clone());
        let token = CancellationToken::new();
        let stop = token.clone().cancelled_owned();
        #[expect(
            clippy::disallowed_methods,
            reason = "the receiver lives as long as the test's Receiver value, whose Drop stops it"
        )]
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop)
                .await
                .unwrap();
        });
        Receiver {
            url,
            inbox,
            _stop: token.drop_guard(),
        }
    }

    /// Makes later deliveries answer `status`.
    pub fn answer_with(&self, status: u16) {
        self.inbox.answer.store(status, Ordering::SeqCst);
    }

    /// Returns everything received so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inbox.deliveries.lock().unwrap().clone()
    }

    /// Returns the latest delivery.
    pub fn last(&self) -> Delivery {
        self.deliveries().pop().expect("something was delivered")
    }
}

async fn record(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    inbox.deliveries.lock().unwrap().push(Delivery {
        headers,
        body: body.to_vec(),
    });
    StatusCode::from_u16(inbox.answer.load(Ordering::SeqCst)).unwrap()
}
