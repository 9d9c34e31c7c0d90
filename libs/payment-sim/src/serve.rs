//! Binding a fake's listener on loopback and stopping it when the fake is dropped.

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

/// A router served on `127.0.0.1:<ephemeral port>` until this handle is dropped.
#[derive(Debug)]
pub(crate) struct RunningServer {
    address: SocketAddr,
    /// Cancels the server when the owning fake is dropped: the listener closes at once and open
    /// connections finish their current request.
    _stop: DropGuard,
}

impl RunningServer {
    /// Binds `127.0.0.1:0` and serves `router` there in the background.
    pub(crate) async fn start(fake: &'static str, router: Router) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .with_context(|| format!("binding the {fake} fake on 127.0.0.1:0"))?;
        let address = listener
            .local_addr()
            .context("reading the fake's listener address")?;
        let token = CancellationToken::new();
        let stop = token.clone().cancelled_owned();
        #[expect(
            clippy::disallowed_methods,
            reason = "a fake lives exactly as long as its owner: Drop cancels the server and nothing waits for it"
        )]
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).with_graceful_shutdown(stop).await {
                tracing::error!(fake, %error, "fake payment processor stopped serving");
            }
        });
        tracing::debug!(fake, %address, "fake payment processor started");
        Ok(Self {
            address,
            _stop: token.drop_guard(),
        })
    }

    /// Returns `http://127.0.0.1:PORT`.
    pub(crate) fn origin(&self) -> String {
        format!("http://{}", self.address)
    }
}
