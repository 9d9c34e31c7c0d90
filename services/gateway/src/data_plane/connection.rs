//! One HTTP/1.1 connection to an instance, as the streaming route keeps it.

use std::pin::Pin;
use std::task::Context;

use axum::body::Body;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One connection: the half that sends and the half that does the socket work. Nothing drives it
/// but the requests using it, so it costs no task of its own.
pub(super) struct Driven {
    /// Sends requests on it.
    pub(super) sender: SendRequest<Body>,
    /// Reads and writes its socket when polled.
    pub(super) driver: Pin<Box<Connection<TokioIo<TcpStream>, Body>>>,
}

impl Driven {
    /// Does whatever socket work is due; returns whether the connection has ended.
    pub(super) fn drive(&mut self, context: &mut Context<'_>) -> bool {
        self.driver.as_mut().poll(context).is_ready()
    }
}
