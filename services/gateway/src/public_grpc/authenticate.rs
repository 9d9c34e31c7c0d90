//! Authentication and rate limits for the public gRPC API.

use std::convert::Infallible;
use std::sync::Arc;

use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use tonic::body::Body;

use crate::authenticator::Authenticator;
use crate::public_grpc::layered::{CallStep, Next};
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

/// Reads `authorization`/`x-api-key` metadata, puts the principal in the request's extensions for
/// the handlers, counts the call against the user's rate limit, and answers `UNAUTHENTICATED` or
/// `RESOURCE_EXHAUSTED` (with `retry-after`) without reaching the handler.
#[derive(Debug, Clone)]
pub struct Authenticate {
    authenticator: Authenticator,
    rate_limiter: RateLimiter,
}

impl Authenticate {
    /// Returns the step.
    pub fn new(authenticator: Authenticator, rate_limiter: RateLimiter) -> Self {
        Authenticate {
            authenticator,
            rate_limiter,
        }
    }
}

impl CallStep for Authenticate {
    async fn around<S>(&self, mut request: http::Request<Body>, next: Next<S>) -> http::Response<Body>
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + Send
            + 'static,
        S::Future: Send + 'static,
    {
        let policy = MethodPolicy::of(request.uri().path());
        if policy == MethodPolicy::Public {
            return next.run(request).await;
        }
        let credentials = match Credentials::from_headers(request.headers()) {
            Ok(Some(credentials)) => credentials,
            Ok(None) if policy == MethodPolicy::MetadataOrBody => return next.run(request).await,
            Ok(None) => {
                let message = "send authorization: Bearer <token> or x-api-key metadata";
                return refuse(Error::new(ErrorCode::Unauthenticated, message));
            }
            Err(error) => return refuse(error),
        };
        let principal = match self.authenticator.authenticate(&credentials).await {
            Ok(principal) => principal,
            Err(error) => return refuse(error),
        };
        let decision = self.rate_limiter.check_user(&principal, request.headers()).await;
        let mut response = match decision {
            Some(decision) if !decision.allowed => refuse(decision.error()),
            _ => {
                request.extensions_mut().insert::<Arc<Principal>>(principal);
                next.run(request).await
            }
        };
        if let Some(decision) = decision {
            decision.write_headers(response.headers_mut());
        }
        response
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
