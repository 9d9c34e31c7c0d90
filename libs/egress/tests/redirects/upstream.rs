//! A real HTTP server on 127.0.0.1 that counts the requests reaching it, standing in for a user's target.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, any};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running server; it stops when dropped.
pub struct Upstream {
    address: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Upstream {
    /// Binds a free port on 127.0.0.1 and serves `router` there, counting every request.
    #[expect(
        clippy::disallowed_methods,
        reason = "the server lives as long as the test and is aborted on drop"
    )]
    pub async fn start(router: Router) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free local port");
        let address = listener.local_addr().expect("a bound listener has an address");
        let hits = Arc::new(AtomicUsize::new(0));
        let router = router.layer(middleware::from_fn_with_state(Arc::clone(&hits), count_hit));
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the test server runs until aborted");
        });
        Upstream { address, hits, task }
    }

    /// Returns the URL of `path` on this server.
    pub fn url(&self, path: &str) -> reqwest::Url {
        format!("http://{}{path}", self.address)
            .parse()
            .expect("a valid local url")
    }

    /// Returns the allow rule naming exactly this server, `127.0.0.1:<port>`.
    pub fn allow_rule(&self) -> String {
        self.address.to_string()
    }

    /// Returns the port the server listens on.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Returns how many requests have reached the server.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Returns a route answering every method with `status` and a `Location` header.
pub fn redirect(status: StatusCode, location: impl Into<String>) -> MethodRouter {
    let location = location.into();
    any(move || async move { (status, [(LOCATION, location)]) })
}

/// Returns a route that describes the request it received, so tests can see what a redirect forwarded.
pub fn echo() -> MethodRouter {
    any(|method: Method, headers: HeaderMap, body: String| async move {
        let has = |name: &str| if headers.contains_key(name) { "yes" } else { "no" };
        format!(
            "method={method} authorization={} x-api-key={} content-type={} body={body}",
            has("authorization"),
            has("x-api-key"),
            has("content-type"),
        )
    })
}

async fn count_hit(State(hits): State<Arc<AtomicUsize>>, request: Request, next: Next) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}
