//! Authentication and rate limits for the public gRPC API, before any message is decoded.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use tonic::body::Body;
use tonic::server::NamedService;

use crate::authenticator::Authenticator;
use crate::rate_limit::RateLimiter;
use crate::{Credentials, Error};

/// Whether a method needs credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodPolicy {
    /// `Login` and `HealthCheck`: open to anyone.
    Public,
    /// `CreateAPIKey`: credentials in metadata, or the JWT in the request's `token` field.
    MetadataOrBody,
    /// Everything else.
    Required,
}

impl MethodPolicy {
    /// Returns the policy of the method at `path` (`/gpuproxy.v1.GPUProxyService/<Method>`).
    pub fn of(path: &str) -> Self {
        match path.rsplit('/').next() {
            Some("Login" | "HealthCheck") => MethodPolicy::Public,
            Some("CreateAPIKey") => MethodPolicy::MetadataOrBody,
            _ => MethodPolicy::Required,
        }
    }
}

/// Wraps the generated server: reads `authorization`/`x-api-key` metadata, puts the principal in the
/// request's extensions for the handlers, counts the call against the user's rate limit, and answers
/// `UNAUTHENTICATED` or `RESOURCE_EXHAUSTED` (with `retry-after`) without touching the handler.
#[derive(Debug, Clone)]
pub struct Authenticated<S> {
    inner: S,
    authenticator: Authenticator,
    rate_limiter: RateLimiter,
}

impl<S> Authenticated<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, authenticator: Authenticator, rate_limiter: RateLimiter) -> Self {
        Authenticated {
            inner,
            authenticator,
            rate_limiter,
        }
    }
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<http::Request<Body>> for Authenticated<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: http::Request<Body>) -> Self::Future {
        // The clone is not ready; the ready one handles this call (tower's standard pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        let rate_limiter = self.rate_limiter.clone();
        Box::pin(async move {
            let policy = MethodPolicy::of(request.uri().path());
            if policy == MethodPolicy::Public {
                return inner.call(request).await;
            }
            let credentials = match Credentials::from_headers(request.headers()) {
                Ok(Some(credentials)) => credentials,
                Ok(None) if policy == MethodPolicy::MetadataOrBody => return inner.call(request).await,
                Ok(None) => {
                    let error = Error::new(
                        ErrorCode::Unauthenticated,
                        "send authorization: Bearer <token> or x-api-key metadata",
                    );
                    return Ok(refuse(error));
                }
                Err(error) => return Ok(refuse(error)),
            };
            let principal = match authenticator.authenticate(&credentials).await {
                Ok(principal) => principal,
                Err(error) => return Ok(refuse(error)),
            };
            let decision = rate_limiter.check_user(&principal, request.headers()).await;
            if let Some(decision) = decision.filter(|decision| !decision.allowed) {
                let mut response = refuse(decision.error());
                decision.write_headers(response.headers_mut());
                return Ok(response);
            }
            request.extensions_mut().insert::<Arc<Principal>>(principal);
            let mut response = inner.call(request).await?;
            if let Some(decision) = decision {
                decision.write_headers(response.headers_mut());
            }
            Ok(response)
        })
    }
}

fn refuse(error: Error) -> http::Response<Body> {
    error.into_status().into_http()
}

#[cfg(test)]
mod tests {
    use super::MethodPolicy;

    #[test]
    fn only_login_and_health_check_are_public() {
        assert_eq!(
            MethodPolicy::of("/gpuproxy.v1.GPUProxyService/Login"),
            MethodPolicy::Public
        );
        assert_eq!(
            MethodPolicy::of("/gpuproxy.v1.GPUProxyService/HealthCheck"),
            MethodPolicy::Public
        );
        assert_eq!(
            MethodPolicy::of("/gpuproxy.v1.GPUProxyService/CreateAPIKey"),
            MethodPolicy::MetadataOrBody
        );
        assert_eq!(
            MethodPolicy::of("/gpuproxy.v1.GPUProxyService/ReserveGPUs"),
            MethodPolicy::Required
        );
    }
}
