//! Kept-alive HTTP/1.1 connections to the caller's instances for the streaming route.
//!
//! A pooled client (reqwest, hyper-util) drives each connection on a task of its own, so every
//! request crosses tasks twice or more (send, then head and body back), and on two shared cores
//! those wake-ups cost more than the proxying. Here the request holding a connection polls it
//! itself: while it waits for the answer's head, and, through [`InstanceBody`], while the body
//! streams. An idle connection is polled by nobody; one the instance closed meanwhile is noticed
//! when it is taken out and replaced, and a request it could not carry is sent again on another.
//!
//! Each REST worker (`http_workers.rs`) has a pool of its own: a socket wakes the thread whose
//! runtime registered it, so a worker reuses only the connections it made itself, and its requests
//! never wait on another thread's reactor.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response};
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::connection::Driven;
use super::endpoint::Endpoint;

/// Endpoints remembered at most; past this the ones with no idle connection are forgotten.
const MAX_ENDPOINTS: usize = 1024;
/// How many connections one request may try when each turns out closed before it was sent.
const ATTEMPTS: usize = 3;

/// Why an exchange with an instance failed.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    /// No connection could be made.
    #[error("connecting to {authority} failed: {source}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// What the socket said.
        source: std::io::Error,
    },
    /// Connecting took longer than allowed.
    #[error("connecting to {0} timed out")]
    ConnectTimeout(String),
    /// The HTTP exchange broke.
    #[error("the exchange with the instance failed: {0}")]
    Http(#[from] hyper::Error),
}

/// Instances' endpoints (by base URL) and their idle connections. Cheap to clone; clones share them.
#[derive(Debug, Clone)]
pub struct InstanceConnections {
    endpoints: Arc<Mutex<foldhash::HashMap<String, Arc<Endpoint>>>>,
    connect_timeout: Duration,
}

impl InstanceConnections {
    /// Returns an empty pool whose new connections must be made within `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> Self {
        InstanceConnections {
            endpoints: Arc::default(),
            connect_timeout,
        }
    }

    /// The endpoint behind `base_url`, parsed the first time; `None` when it is not a plain
    /// `http://` URL.
    pub fn endpoint(&self, base_url: &str) -> Option<Arc<Endpoint>> {
        let mut endpoints = self.endpoints.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(endpoint) = endpoints.get(base_url) {
            return Some(Arc::clone(endpoint));
        }
        let endpoint = Arc::new(Endpoint::parse(base_url)?);
        if endpoints.len() >= MAX_ENDPOINTS {
            endpoints.retain(|_, known| !known.has_no_idle());
        }
        endpoints.insert(base_url.to_owned(), Arc::clone(&endpoint));
        Some(endpoint)
    }

    /// Sends `request` (its URI in origin form, its `Host` set: [`Endpoint::request`]) to
    /// `endpoint` and returns the answer once its head arrives; the body streams as it is read.
    pub async fn send(
        &self,
        endpoint: &Arc<Endpoint>,
        mut request: Request<Body>,
    ) -> Result<Response<InstanceBody>, InstanceError> {
        let mut attempt = 1;
        loop {
            let mut connection = match self.take_idle(endpoint).await {
                Some(connection) => connection,
                // Boxed: the handshake's state is large and rarely needed, and every request's
                // future would otherwise carry (and move) room for it.
                None => Box::pin(self.connect(endpoint.connect_to())).await?,
            };
            let mut sending = std::pin::pin!(connection.sender.try_send_request(request));
            let sent = poll_fn(|context| {
                // The driver's end shows up as the send's error, so its result is not needed here.
                let _ = connection.drive(context);
                sending.as_mut().poll(context)
            })
            .await;
            match sent {
                Ok(answer) => {
                    let (parts, body) = answer.into_parts();
                    let body = InstanceBody {
                        body,
                        connection: Some(connection),
                        endpoint: Arc::clone(endpoint),
                    };
                    return Ok(Response::from_parts(parts, body));
                }
                Err(mut failed) => match failed.take_message() {
                    // Not sent at all (the connection was already gone): another one may carry it.
                    Some(unsent) if attempt < ATTEMPTS => {
                        request = unsent;
                        attempt += 1;
                    }
                    _ => return Err(InstanceError::Http(failed.into_error())),
                },
            }
        }
    }

    /// Takes the most recently used idle connection to `endpoint` that is still open.
    async fn take_idle(&self, endpoint: &Endpoint) -> Option<Driven> {
        loop {
            let mut connection = endpoint.take_idle()?;
            // One poll reads what arrived while it sat idle: a close ends it here.
            let ended = poll_fn(|context| Poll::Ready(connection.drive(context))).await;
            if !ended && connection.sender.is_ready() {
                return Some(connection);
            }
        }
    }

    async fn connect(&self, authority: &str) -> Result<Driven, InstanceError> {
        let connecting = async {
            let stream = TcpStream::connect(authority)
                .await
                .map_err(|source| InstanceError::Connect {
                    authority: authority.to_owned(),
                    source,
                })?;
            // Heads and chunks go out as soon as they are written.
            let _ = stream.set_nodelay(true);
            // Heads and small bodies go out as one copied buffer rather than a list of slices:
            // cheaper for the small writes an exchange makes.
            let (sender, driver) = http1::Builder::new()
                .writev(false)
                .handshake(TokioIo::new(stream))
                .await?;
            Ok(Driven {
                sender,
                driver: Box::pin(driver),
            })
        };
        tokio::time::timeout(self.connect_timeout, connecting)
            .await
            .map_err(|_| InstanceError::ConnectTimeout(authority.to_owned()))?
    }
}

/// An instance's answer body. Reading it drives its connection, which goes back to the pool once
/// the body has been read to its end; a body dropped before its end closes the connection, since
/// the rest of the answer would still be on it.
pub struct InstanceBody {
    body: Incoming,
    connection: Option<Driven>,
    endpoint: Arc<Endpoint>,
}

impl std::fmt::Debug for InstanceBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceBody")
            .field("endpoint", &self.endpoint.connect_to())
            .finish_non_exhaustive()
    }
}

impl InstanceBody {
    fn release_if_done(&mut self, done: bool) {
        if (done || self.body.is_end_stream())
            && let Some(connection) = self.connection.take()
        {
            self.endpoint.give_back(connection);
        }
    }
}

impl hyper::body::Body for InstanceBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(connection) = this.connection.as_mut()
            && connection.drive(context)
        {
            // Ended under the body: what was read is still delivered, then the body's error.
            this.connection = None;
        }
        let frame = Pin::new(&mut this.body).poll_frame(context);
        match &frame {
            Poll::Ready(None) => this.release_if_done(true),
            Poll::Ready(Some(Ok(_))) => this.release_if_done(false),
            Poll::Ready(Some(Err(_))) => this.connection = None,
            Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for InstanceBody {
    fn drop(&mut self) {
        // A server that knows the body's length stops reading at its last byte: the body is done
        // even though its end was never polled.
        self.release_if_done(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn read(answer: Response<InstanceBody>) -> String {
        let bytes = answer.into_body().collect().await.expect("a body").to_bytes();
        String::from_utf8(bytes.to_vec()).expect("utf-8")
    }

    fn get(authority: &str, path: &str) -> Request<Body> {
        Request::get(path)
            .header(http::header::HOST, authority)
            .body(Body::empty())
            .expect("a request")
    }

    /// A server answering `per_connection` requests per connection, then closing it; it counts
    /// connections. It runs until the returned set is dropped.
    async fn server(
        per_connection: usize,
    ) -> (
        String,
        Arc<std::sync::atomic::AtomicUsize>,
        tokio::task::JoinSet<()>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let authority = listener.local_addr().expect("bound").to_string();
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let mut server = tokio::task::JoinSet::new();
        server.spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                let number = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                connections.spawn(async move {
                    let mut buffer = vec![0_u8; 4096];
                    for _ in 0..per_connection {
                        let mut seen = Vec::new();
                        while !seen.windows(4).any(|window| window == b"\r\n\r\n") {
                            match stream.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(read) => seen.extend_from_slice(&buffer[..read]),
                            }
                        }
                        let body = format!("connection {number}");
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                        if stream
                            .write_all(format!("{head}{body}").as_bytes())
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        (authority, accepted, server)
    }

    #[tokio::test]
    async fn a_read_answer_gives_its_connection_back_for_the_next_request() {
        let (authority, accepted, _server) = server(100).await;
        let pool = InstanceConnections::new(Duration::from_secs(5));
        let endpoint = pool
            .endpoint(&format!("http://{authority}"))
            .expect("a plain endpoint");
        for _ in 0..5 {
            let answer = pool
                .send(&endpoint, get(&authority, "/"))
                .await
                .expect("answered");
            assert_eq!(read(answer).await, "connection 1");
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_connection_the_instance_closed_is_replaced_without_failing_the_request() {
        let (authority, accepted, _server) = server(1).await;
        let pool = InstanceConnections::new(Duration::from_secs(5));
        let endpoint = pool
            .endpoint(&format!("http://{authority}"))
            .expect("a plain endpoint");
        for round in 1..=3 {
            let answer = pool
                .send(&endpoint, get(&authority, "/"))
                .await
                .expect("answered");
            assert_eq!(read(answer).await, format!("connection {round}"));
            // Let the server's close arrive before the connection is taken again.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_answer_dropped_half_read_does_not_go_back_to_the_pool() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let authority = listener.local_addr().expect("bound").to_string();
        let mut server = tokio::task::JoinSet::new();
        server.spawn(async move {
            let mut held = tokio::task::JoinSet::new();
            let mut number = 0;
            while let Ok((mut stream, _)) = listener.accept().await {
                number += 1;
                let mut buffer = vec![0_u8; 4096];
                let _ = stream.read(&mut buffer).await;
                // Promises 100 bytes, sends 5, then waits.
                let _ = stream
                    .write_all(
                        format!("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nconn{number}").as_bytes(),
                    )
                    .await;
                held.spawn(async move {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    drop(stream);
                });
            }
        });
        let pool = InstanceConnections::new(Duration::from_secs(5));
        let endpoint = pool
            .endpoint(&format!("http://{authority}"))
            .expect("a plain endpoint");
        let first = pool
            .send(&endpoint, get(&authority, "/"))
            .await
            .expect("answered");
        let mut body = first.into_body();
        let frame = body.frame().await.expect("a frame").expect("data");
        assert_eq!(frame.into_data().expect("data"), "conn1");
        drop(body);
        let second = pool
            .send(&endpoint, get(&authority, "/"))
            .await
            .expect("answered");
        let frame = second.into_body().frame().await.expect("a frame").expect("data");
        assert_eq!(
            frame.into_data().expect("data"),
            "conn2",
            "a new connection carried it"
        );
    }

    #[tokio::test]
    async fn an_instance_that_is_not_listening_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let authority = listener.local_addr().expect("bound").to_string();
        drop(listener);
        let pool = InstanceConnections::new(Duration::from_secs(5));
        let endpoint = pool
            .endpoint(&format!("http://{authority}"))
            .expect("a plain endpoint");
        let error = pool
            .send(&endpoint, get(&authority, "/"))
            .await
            .expect_err("refused");
        assert!(matches!(error, InstanceError::Connect { .. }), "{error}");
    }
}
