//! One channel type for remote and in-process services.

use std::convert::Infallible;
use std::time::Duration;

use gpuproxy_config::{ExposeSecret, SecretString};
use tonic::body::Body;
use tonic::transport::Endpoint;
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

use crate::INTERNAL_TOKEN_HEADER;

/// What a generated client sends requests through: a network connection in the fleet, the server
/// itself when both run in one process. Requests are encoded and decoded either way, so the embedded
/// server exercises exactly the code the fleet runs.
pub type GrpcChannel =
    BoxCloneSyncService<http::Request<Body>, http::Response<Body>, tonic::transport::Error>;

/// Returns a channel to a service at `url` (e.g. `http://auth:9401`), sending the fleet's
/// `internal_token` with every call when there is one. It connects on first use and reconnects by
/// itself, so a service that starts later than its clients is fine.
pub fn connect_lazy(
    url: &str,
    connect_timeout: Duration,
    internal_token: Option<&SecretString>,
) -> anyhow::Result<GrpcChannel> {
    let channel = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .connect_lazy();
    let Some(token) = internal_token else {
        return Ok(BoxCloneSyncService::new(channel));
    };
    let mut value = http::HeaderValue::from_str(token.expose_secret())
        .map_err(|_| anyhow::anyhow!("INTERNAL_API_TOKEN must be printable ASCII"))?;
    value.set_sensitive(true);
    Ok(BoxCloneSyncService::new(channel.map_request(
        move |mut request: http::Request<Body>| {
            request.headers_mut().insert(INTERNAL_TOKEN_HEADER, value.clone());
            request
        },
    )))
}

/// Returns a channel that hands requests straight to `server` (a generated `…Server`), with no socket.
pub fn in_process<S>(server: S) -> GrpcChannel
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    BoxCloneSyncService::new(server.map_err(|never: Infallible| match never {}))
}
