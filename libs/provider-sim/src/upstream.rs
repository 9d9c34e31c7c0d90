//! Each instance's own listener: the simulated GPU machine behind the marketplace.
//!
//! A listener is bound when the instance is created and closed when it is destroyed, so a client
//! that still holds the address of a destroyed instance gets "connection refused" like it would from
//! a released machine. While the instance is not running the listener answers 503.

mod echo;
mod openai;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::provider::SimProvider;
use crate::state::SharedState;

/// How long destroying an instance waits for its listener to close before answering anyway.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// The instance an upstream listener belongs to.
#[derive(Clone, Debug)]
pub(crate) enum UpstreamTarget {
    VastAi { instance_id: u64 },
    IoNet { deployment_id: Uuid },
}

impl UpstreamTarget {
    fn provider(&self) -> SimProvider {
        match self {
            Self::VastAi { .. } => SimProvider::VastAi,
            Self::IoNet { .. } => SimProvider::IoNet,
        }
    }

    /// Returns the id as text, the key of per-instance settings.
    fn key(&self) -> String {
        match self {
            Self::VastAi { instance_id } => instance_id.to_string(),
            Self::IoNet { deployment_id } => deployment_id.to_string(),
        }
    }

    /// Returns the id the provider's API uses: a number on vast.ai, a UUID string on io.net.
    fn instance_id(&self) -> Value {
        match self {
            Self::VastAi { instance_id } => json!(instance_id),
            Self::IoNet { deployment_id } => json!(deployment_id.to_string()),
        }
    }
}

/// A bound upstream listener; dropping the handle leaves it open until shutdown, so call `close`.
#[derive(Debug)]
pub(crate) struct UpstreamHandle {
    port: u16,
    cancel: CancellationToken,
    closed: oneshot::Receiver<()>,
}

impl UpstreamHandle {
    /// Returns the port on 127.0.0.1 the listener is bound to.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Closes the listener and waits until new connections are refused.
    pub(crate) async fn close(self) {
        self.cancel.cancel();
        // An error means the sender was dropped, which also happens only once the listener is gone.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.closed).await;
    }
}

/// Binds a listener on 127.0.0.1 and serves the instance's traffic on it until closed or shutdown.
///
/// Binding is synchronous so that create handlers can do it while they hold the market lock.
pub(crate) fn spawn_upstream(state: &SharedState, target: UpstreamTarget) -> io::Result<UpstreamHandle> {
    let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    std_listener.set_nonblocking(true)?;
    let listener = TcpListener::from_std(std_listener)?;
    let port = listener.local_addr()?.port();
    let cancel = state.shutdown.child_token();
    let (closed_sender, closed) = oneshot::channel();
    let closable = ClosableListener {
        listener: Some(listener),
        cancel: cancel.clone(),
        closed: Some(closed_sender),
    };
    let context = UpstreamContext {
        state: Arc::clone(state),
        target,
    };
    let app = router(context);
    let stop = cancel.clone().cancelled_owned();
    state.tasks.spawn(async move {
        if let Err(error) = axum::serve(closable, app).with_graceful_shutdown(stop).await {
            tracing::warn!(%error, port, "upstream server failed");
        }
    });
    Ok(UpstreamHandle { port, cancel, closed })
}

/// What every upstream handler needs: the shared state and whose listener this is.
#[derive(Clone, Debug)]
pub(crate) struct UpstreamContext {
    state: SharedState,
    target: UpstreamTarget,
}

fn router(context: UpstreamContext) -> Router {
    Router::new()
        .route("/health", get(echo::health).fallback(echo::echo))
        .route(
            "/v1/chat/completions",
            post(openai::chat_completions).fallback(echo::echo),
        )
        .route("/v1/completions", post(openai::completions).fallback(echo::echo))
        .fallback(echo::echo)
        .layer(middleware::from_fn_with_state(context.clone(), require_running))
        .with_state(context)
}

/// The request header that spaces a streamed answer's events, in milliseconds, as a GPU
/// generating tokens would.
pub const CHUNK_DELAY_HEADER: &str = "x-sim-chunk-delay-ms";

/// The request header that makes one upstream answer later, in milliseconds (a long request).
pub const DELAY_HEADER: &str = "x-sim-delay-ms";

async fn require_running(State(context): State<UpstreamContext>, request: Request, next: Next) -> Response {
    if context.state.upstream_is_running(&context.target) {
        let asked = request
            .headers()
            .get(DELAY_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok())
            .map_or(Duration::ZERO, Duration::from_millis);
        let delay = context.state.upstream_delay(&context.target.key()) + asked;
        if !delay.is_zero() {
            context
                .state
                .sleep_unless_shutdown(delay.min(Duration::from_secs(600)))
                .await;
        }
        return next.run(request).await;
    }
    let body = json!({
        "error": "instance is not running",
        "instance_id": context.target.instance_id(),
        "provider": context.target.provider().name(),
    });
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

/// A TCP listener that drops its socket as soon as its token is cancelled.
///
/// `axum::serve` learns about graceful shutdown through a task of its own, so it may accept one more
/// connection after the token fires; closing here makes "destroyed means refused" deterministic.
#[derive(Debug)]
struct ClosableListener {
    listener: Option<TcpListener>,
    cancel: CancellationToken,
    closed: Option<oneshot::Sender<()>>,
}

impl ClosableListener {
    fn close(&mut self) {
        self.listener = None;
        if let Some(closed) = self.closed.take() {
            // The receiver is gone when nobody waits for the close, which is fine.
            let _ = closed.send(());
        }
    }
}

impl axum::serve::Listener for ClosableListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let accepted = match &self.listener {
                None => std::future::pending().await,
                Some(listener) => tokio::select! {
                    biased;
                    () = self.cancel.cancelled() => None,
                    accepted = listener.accept() => Some(accepted),
                },
            };
            match accepted {
                None => self.close(),
                Some(Ok(connection)) => return connection,
                Some(Err(error)) => {
                    // Accept errors are per connection (e.g. too many open files); back off briefly.
                    tracing::debug!(%error, "upstream accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        match &self.listener {
            Some(listener) => listener.local_addr(),
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "upstream listener is closed",
            )),
        }
    }
}

impl Drop for ClosableListener {
    fn drop(&mut self) {
        self.close();
    }
}
