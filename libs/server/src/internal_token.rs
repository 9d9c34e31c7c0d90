//! The shared secret between the services of one fleet.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::{Either, Ready, ready};
use gpuproxy_config::{ExposeSecret, SecretString};
use gpuproxy_errors::ErrorCode;
use subtle::ConstantTimeEq;
use tonic::body::Body;

/// The metadata that carries the token between services.
pub const INTERNAL_TOKEN_HEADER: &str = "x-internal-token";

/// The standard health service answers without the token: Kubernetes probes cannot send it.
const OPEN_PREFIX: &str = "/grpc.health.v1.Health/";

/// Requires [`INTERNAL_TOKEN_HEADER`] to equal the fleet's token on every call but health checks,
/// so that reaching an internal port is not enough to call it. Without a token it lets everything
/// through (a service bound to loopback, or developer mode).
#[derive(Debug, Clone)]
pub struct RequireTokenLayer {
    token: Option<Arc<SecretString>>,
}

impl RequireTokenLayer {
    /// Returns the layer for `token`.
    pub fn new(token: Option<SecretString>) -> Self {
        RequireTokenLayer {
            token: token.map(Arc::new),
        }
    }
}

impl<S> tower::Layer<S> for RequireTokenLayer {
    type Service = RequireToken<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireToken {
            inner,
            token: self.token.clone(),
        }
    }
}

/// The service [`RequireTokenLayer`] wraps around a server.
#[derive(Debug, Clone)]
pub struct RequireToken<S> {
    inner: S,
    token: Option<Arc<SecretString>>,
}

impl<S, B> tower::Service<http::Request<B>> for RequireToken<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<Body>>,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Self::Response, Self::Error>>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let Some(token) = &self.token else {
            return Either::Left(self.inner.call(request));
        };
        if request.uri().path().starts_with(OPEN_PREFIX) {
            return Either::Left(self.inner.call(request));
        }
        let sent = request
            .headers()
            .get(INTERNAL_TOKEN_HEADER)
            .map_or(&[][..], http::HeaderValue::as_bytes);
        if bool::from(sent.ct_eq(token.expose_secret().as_bytes())) {
            return Either::Left(self.inner.call(request));
        }
        let status = gpuproxy_errors::status(
            ErrorCode::Unauthenticated,
            "internal API: missing or wrong x-internal-token",
        );
        Either::Right(ready(Ok(status.into_http())))
    }
}

/// Binds an internal API's listener at `listen` (`None`: reached in-process only). Refuses an
/// address beyond loopback without the fleet's token: internal APIs trust the user ids they are given
/// (and the catalog's rents GPUs), so anybody on the network could otherwise act as any user.
/// Developer mode lets it through.
pub async fn bind_internal(
    service: &str,
    listen: Option<std::net::SocketAddr>,
    has_token: bool,
    developer_mode: bool,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let Some(addr) = listen else {
        return Ok(None);
    };
    if !(addr.ip().is_loopback() || has_token || developer_mode) {
        anyhow::bail!(
            "refusing to serve the internal {service} API on {addr} without INTERNAL_API_TOKEN: set it to the same \
             secret on every service (openssl rand -base64 48), or keep INTERNAL_HOST=127.0.0.1"
        );
    }
    Ok(Some(crate::bind(addr).await?))
}
