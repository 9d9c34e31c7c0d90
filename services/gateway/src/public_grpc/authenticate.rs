//! Authentication and rate limits for the public gRPC API.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;

use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use tonic::body::Body;

use crate::Error;
use crate::gatekeeper::{Gatekeeper, Refusal};
use crate::public_grpc::layered::{CallStep, Next};
use crate::rate_limit::RateDecision;

/// Whether a method needs credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodPolicy {
    /// `Login`, `HealthCheck` and KServe V2's server health and metadata: open to anyone.
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
            Some("Login" | "HealthCheck" | "ServerLive" | "ServerReady" | "ServerMetadata") => {
                MethodPolicy::Public
            }
            Some("CreateAPIKey") => MethodPolicy::MetadataOrBody,
            _ => MethodPolicy::Required,
        }
    }
}

/// Lets calls in through the [`Gatekeeper`]: credentials from `authorization`/`x-api-key` metadata,
/// the principal put in the request's extensions for the handlers, the user's rate limit, and a
/// per-address limit on `Login`. Refusals (`UNAUTHENTICATED`, `RESOURCE_EXHAUSTED` with
/// `retry-after`) never reach the handler.
#[derive(Debug, Clone)]
pub struct Authenticate {
    gatekeeper: Gatekeeper,
}

impl Authenticate {
    /// Returns the step.
    pub fn new(gatekeeper: Gatekeeper) -> Self {
        Authenticate { gatekeeper }
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
            if !request.uri().path().ends_with("/Login") {
                return next.run(request).await;
            }
            // Password guessing over gRPC meets the same per-address limit as over REST.
            let address = self
                .gatekeeper
                .client_address(request.headers(), request.extensions())
                .unwrap_or(IpAddr::from([0, 0, 0, 0]));
            let decision = self.gatekeeper.rate_limiter.check_address(address).await;
            return with_limit(decision, request, next).await;
        }
        let admission = match self
            .gatekeeper
            .admit(request.headers(), request.extensions())
            .await
        {
            Ok(Some(admission)) => admission,
            Ok(None) if policy == MethodPolicy::MetadataOrBody => return next.run(request).await,
            Ok(None) => {
                let message = "send authorization: Bearer <token> or x-api-key metadata";
                return refuse(Refusal::from(Error::new(ErrorCode::Unauthenticated, message)));
            }
            Err(refusal) => return refuse(refusal),
        };
        request
            .extensions_mut()
            .insert::<Arc<Principal>>(admission.principal);
        with_limit(admission.decision, request, next).await
    }
}

/// Refuses past the limit, runs the call otherwise; the window's headers go on either answer.
async fn with_limit<S>(
    decision: Option<RateDecision>,
    request: http::Request<Body>,
    next: Next<S>,
) -> http::Response<Body>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut response = match decision {
        Some(decision) if !decision.allowed => {
            return refuse(Refusal {
                error: decision.error(),
                decision: Some(decision),
            });
        }
        _ => next.run(request).await,
    };
    if let Some(decision) = decision {
        decision.write_headers(response.headers_mut());
    }
    response
}

fn refuse(refusal: Refusal) -> http::Response<Body> {
    let mut response = refusal.error.into_status().into_http();
    if let Some(decision) = refusal.decision {
        decision.write_headers(response.headers_mut());
    }
    response
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
