//! REST served on worker threads, each with a single-threaded runtime of its own, the way nginx and
//! Envoy serve: a connection lives on one thread from accept to close, and the requests it carries
//! run there too, with the instance connections they drive (kept per thread, see
//! `proxy/instance_connections.rs`).
//!
//! On the process's work-stealing runtime every exchange handed tasks between threads: the worker
//! that read a request was seldom the one its instance's answer woke, and each hand-off cost a
//! futex wake-up and cold caches. On two shared cores the proxy's own CPU per routed request fell
//! by about a quarter with this layout (README, "Benchmarks").
//!
//! One acceptor hands each new connection to the worker holding the fewest open ones, so
//! long-lived keep-alive connections spread evenly whatever order they arrive in.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::ServiceExt as _;
use axum::extract::Request;
use axum::response::Response;
use axum::serve::ListenerExt;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tower::Service;

/// How long a worker keeps running, after its connections have closed at shutdown, for work that
/// requests started and left running (a rent that must finish whether or not its caller waits).
const DETACHED_WORK_DRAIN: Duration = Duration::from_secs(30);

/// How often [`keep_a_timer_due`] wakes a worker.
const TIMER_TICK: Duration = Duration::from_secs(1);

/// Serves the REST API on `workers` threads (at least one), each with a service `rest` makes for it,
/// until `stop` is cancelled; then lets open connections finish their requests (as
/// `axum::serve`'s graceful shutdown does) and returns once every worker has closed its last one.
pub async fn serve<S>(
    listener: TcpListener,
    rest: impl Fn() -> S,
    workers: usize,
    stop: CancellationToken,
) -> anyhow::Result<()>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let mut handoffs = Vec::with_capacity(workers.max(1));
    let mut finished = Vec::with_capacity(workers.max(1));
    let local_addr = listener.local_addr()?;
    for number in 0..workers.max(1) {
        let (worker, done) = Worker::start(number, local_addr, rest(), stop.clone())?;
        handoffs.push(worker);
        finished.push(done);
    }
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, remote)) => {
                let stream = stream.into_std()?;
                let worker = handoffs
                    .iter()
                    .min_by_key(|worker| worker.open.load(Ordering::Relaxed))
                    .ok_or_else(|| anyhow::anyhow!("no REST worker"))?;
                worker.hand_over(stream, remote)?;
            }
            Err(error) if is_connection_error(&error) => {}
            Err(error) => {
                // Out of file descriptors, most likely: accepting again at once would spin.
                tracing::error!(%error, "accepting a REST connection failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    drop(listener);
    drop(handoffs);
    for done in finished {
        // A worker that ended without saying so panicked; its thread's panic message says why.
        done.await
            .map_err(|_| anyhow::anyhow!("a REST worker thread ended abnormally"))?;
    }
    Ok(())
}

/// Errors of one connection, not of the listener (as `axum::serve` tells them apart).
fn is_connection_error(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// The acceptor's end of one worker: where its new connections go, and how many it holds.
struct Worker {
    connections: mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>,
    open: Arc<AtomicUsize>,
}

impl Worker {
    /// Starts worker `number`'s thread serving `rest`; the receiver resolves once it has closed
    /// its last connection after `stop`.
    fn start<S>(
        number: usize,
        local_addr: SocketAddr,
        rest: S,
        stop: CancellationToken,
    ) -> anyhow::Result<(Worker, oneshot::Receiver<()>)>
    where
        S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
        S::Future: Send + 'static,
    {
        let (connections, incoming) = mpsc::unbounded_channel();
        let open = Arc::new(AtomicUsize::new(0));
        let (done, finished) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = Handed {
            incoming,
            open: Arc::clone(&open),
            local_addr,
        };
        std::thread::Builder::new()
            .name(format!("gateway-http-{number}"))
            .spawn(move || {
                runtime.block_on(async move {
                    // Streamed answers go out as a head and then chunks; with Nagle's algorithm
                    // on, each chunk after the head would wait for the client's delayed ACK.
                    let listener = listener.tap_io(|connection| {
                        if let Err(error) = connection.stream.set_nodelay(true) {
                            tracing::debug!(%error, "setting TCP_NODELAY failed");
                        }
                    });
                    let service = rest.into_make_service_with_connect_info::<SocketAddr>();
                    let serving =
                        axum::serve(listener, service).with_graceful_shutdown(stop.clone().cancelled_owned());
                    let (served, ()) =
                        futures::future::join(serving.into_future(), keep_a_timer_due(stop)).await;
                    if let Err(error) = served {
                        tracing::error!(%error, "a REST worker stopped serving");
                    }
                    let _ = done.send(());
                    drain_detached_work().await;
                });
            })?;
        Ok((Worker { connections, open }, finished))
    }

    fn hand_over(&self, stream: std::net::TcpStream, remote: SocketAddr) -> anyhow::Result<()> {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.connections
            .send((stream, remote))
            .map_err(|_| anyhow::anyhow!("a REST worker is gone"))
    }
}

/// Keeps a timer of this worker's runtime due within [`TIMER_TICK`] until `stop`. Tokio wakes its
/// timer driver (an eventfd write, and an extra round of `epoll_wait`) whenever a timer is set
/// that is due before every other one, even from the driver's own thread. A worker that parked with
/// no request in flight has no timer at all, so under load about every fifth request's deadline
/// (`X-Timelimit`, a minute by default) paid that; with this one always due sooner, none does.
async fn keep_a_timer_due(stop: CancellationToken) {
    while !stop.is_cancelled() {
        tokio::select! {
            () = stop.cancelled() => {}
            () = tokio::time::sleep(TIMER_TICK) => {}
        }
    }
}

/// Waits, up to [`DETACHED_WORK_DRAIN`], for the tasks requests spawned on this worker's runtime.
async fn drain_detached_work() {
    let runtime = tokio::runtime::Handle::current();
    let waited = tokio::time::timeout(DETACHED_WORK_DRAIN, async {
        while runtime.metrics().num_alive_tasks() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if waited.is_err() {
        tracing::warn!(
            tasks = runtime.metrics().num_alive_tasks(),
            "a REST worker stopped with work of its requests still running"
        );
    }
}

/// A worker's listener: the connections the acceptor hands it.
struct Handed {
    incoming: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    open: Arc<AtomicUsize>,
    local_addr: SocketAddr,
}

impl axum::serve::Listener for Handed {
    type Io = Counted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Counted, SocketAddr) {
        loop {
            let Some((stream, remote)) = self.incoming.recv().await else {
                // The acceptor has stopped; so will the server, on the same cancellation.
                return std::future::pending().await;
            };
            // Counted out again if the stream turns out unusable.
            let open = OpenConnection(Arc::clone(&self.open));
            // Registered with this thread's runtime, so its readiness wakes this thread.
            match TcpStream::from_std(stream) {
                Ok(stream) => return (Counted { stream, _open: open }, remote),
                Err(error) => tracing::debug!(%error, "a handed-over REST connection was unusable"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

/// One of a worker's open connections, counted until dropped.
struct OpenConnection(Arc<AtomicUsize>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection that counts itself out of its worker's open connections when it closes.
struct Counted {
    stream: TcpStream,
    _open: OpenConnection,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(context, buffer)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A router answering with the name of the thread that served the request, after the
    /// milliseconds the path names; `/detach` leaves work running that sets `detached_done`.
    fn router(detached_done: Arc<AtomicBool>) -> axum::Router {
        axum::Router::new()
            .route(
                "/thread/{wait_ms}",
                axum::routing::get(
                    |axum::extract::Path(wait_ms): axum::extract::Path<u64>| async move {
                        tokio::time::sleep(Duration::from_millis(wait_ms)).await;
                        std::thread::current().name().unwrap_or_default().to_owned()
                    },
                ),
            )
            .route(
                "/detach",
                axum::routing::get(move || {
                    let done = Arc::clone(&detached_done);
                    async move {
                        // As the services detach work that must outlive its request.
                        tokio_util::task::TaskTracker::new().spawn(async move {
                            tokio::time::sleep(Duration::from_millis(300)).await;
                            done.store(true, Ordering::SeqCst);
                        });
                        "detached"
                    }
                }),
            )
    }

    struct Started {
        address: SocketAddr,
        stop: CancellationToken,
        serving: tokio::task::JoinSet<anyhow::Result<()>>,
        detached_done: Arc<AtomicBool>,
    }

    async fn start(workers: usize) -> Started {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let address = listener.local_addr().expect("bound");
        let stop = CancellationToken::new();
        let detached_done = Arc::new(AtomicBool::new(false));
        let made = Arc::clone(&detached_done);
        let mut serving = tokio::task::JoinSet::new();
        serving.spawn(serve(
            listener,
            move || router(Arc::clone(&made)),
            workers,
            stop.clone(),
        ));
        Started {
            address,
            stop,
            serving,
            detached_done,
        }
    }

    async fn stopped(mut serving: tokio::task::JoinSet<anyhow::Result<()>>) {
        let served = tokio::time::timeout(Duration::from_secs(5), serving.join_next())
            .await
            .expect("stopped in time")
            .expect("a task")
            .expect("joined");
        served.expect("served");
    }

    /// Sends one keep-alive GET on `stream` and returns the answer's body.
    async fn get(stream: &mut tokio::net::TcpStream, path: &str) -> String {
        let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("sent");
        let mut seen = Vec::new();
        let mut buffer = [0_u8; 1024];
        loop {
            let read = stream.read(&mut buffer).await.expect("read");
            assert!(read > 0, "closed before the answer");
            seen.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|line| line.strip_prefix("content-length: "))
                    .and_then(|length| length.trim().parse().ok())
                    .expect("a length");
                if body.len() >= length {
                    return body[..length].to_owned();
                }
            }
        }
    }

    #[tokio::test]
    async fn connections_spread_evenly_over_the_workers_and_stay_on_theirs() {
        let Started {
            address,
            stop,
            serving,
            ..
        } = start(2).await;
        let mut connections = Vec::new();
        for _ in 0..4 {
            let mut stream = tokio::net::TcpStream::connect(address).await.expect("connected");
            let first = get(&mut stream, "/thread/0").await;
            connections.push((stream, first));
        }
        let mut per_worker = std::collections::BTreeMap::<String, usize>::new();
        for (stream, first) in &mut connections {
            assert!(first.starts_with("gateway-http-"), "{first}");
            // A connection's later requests run on the same worker.
            for _ in 0..3 {
                assert_eq!(&get(stream, "/thread/0").await, first);
            }
            *per_worker.entry(first.clone()).or_default() += 1;
        }
        assert_eq!(per_worker.len(), 2, "{per_worker:?}");
        assert!(per_worker.values().all(|count| *count == 2), "{per_worker:?}");
        stop.cancel();
        drop(connections);
        stopped(serving).await;
    }

    #[tokio::test]
    async fn shutdown_lets_requests_in_flight_finish_and_waits_for_them() {
        let Started {
            address,
            stop,
            serving,
            ..
        } = start(2).await;
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connected");
        let stopping = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            stop.cancel();
        };
        let (answer, ()) = futures::future::join(get(&mut stream, "/thread/400"), stopping).await;
        assert!(answer.starts_with("gateway-http-"), "{answer}");
        stopped(serving).await;
        assert!(
            tokio::net::TcpStream::connect(address).await.is_err(),
            "no longer accepting"
        );
    }

    #[tokio::test]
    async fn work_a_request_left_running_finishes_after_shutdown() {
        let Started {
            address,
            stop,
            serving,
            detached_done,
        } = start(1).await;
        let mut stream = tokio::net::TcpStream::connect(address).await.expect("connected");
        assert_eq!(get(&mut stream, "/detach").await, "detached");
        drop(stream);
        stop.cancel();
        stopped(serving).await;
        for _ in 0..50 {
            if detached_done.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the worker's runtime stopped before the request's task finished");
    }
}
