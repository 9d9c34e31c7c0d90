//! Letting a request in: credentials, failures per address, and the user's rate limit.

use std::net::IpAddr;
use std::sync::Arc;

use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use http::{Extensions, HeaderMap};

use crate::authenticator::Authenticator;
use crate::client_address::client_address;
use crate::rate_limit::{RateDecision, RateLimiter};
use crate::{AppState, Credentials, Error};

/// A request let in: whose it is, and its rate-limit window (to show in headers).
#[derive(Debug, Clone)]
pub struct Admission {
    /// The authenticated user.
    pub principal: Arc<Principal>,
    /// The window after counting this request; `None` when limits are off or unavailable.
    pub decision: Option<RateDecision>,
}

/// A request kept out, and the window to show in headers when the reason is a limit.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// What to answer.
    pub error: Error,
    /// The window, for `X-RateLimit-*` headers.
    pub decision: Option<RateDecision>,
}

impl From<Error> for Refusal {
    fn from(error: Error) -> Self {
        Refusal {
            error,
            decision: None,
        }
    }
}

/// Decides whether a request gets in, the same way for REST and gRPC: it reads the credentials,
/// refuses addresses that keep sending bad ones, authenticates (cached), and counts the request
/// against the user's limit.
#[derive(Debug, Clone)]
pub struct Gatekeeper {
    /// Credentials → principals, cached; handlers invalidate entries through it.
    pub authenticator: Authenticator,
    /// Request windows.
    pub rate_limiter: RateLimiter,
    trust_forwarded_for: bool,
}

impl axum::extract::FromRef<AppState> for Gatekeeper {
    fn from_ref(state: &AppState) -> Self {
        state.gatekeeper.clone()
    }
}

impl Gatekeeper {
    /// Returns a gatekeeper; `trust_forwarded_for` takes client addresses from `X-Forwarded-For`.
    pub fn new(authenticator: Authenticator, rate_limiter: RateLimiter, trust_forwarded_for: bool) -> Self {
        Gatekeeper {
            authenticator,
            rate_limiter,
            trust_forwarded_for,
        }
    }

    /// The same gatekeeper with an authenticator memo of its own, for one REST worker.
    pub fn for_worker(&self) -> Self {
        Gatekeeper {
            authenticator: self.authenticator.for_worker(),
            ..self.clone()
        }
    }

    /// Returns the caller's address.
    pub fn client_address(&self, headers: &HeaderMap, extensions: &Extensions) -> Option<IpAddr> {
        client_address(headers, extensions, self.trust_forwarded_for)
    }

    /// Lets in the request with these headers, or answers why not; `Ok(None)` when it carries no
    /// credentials at all (the caller decides whether that is allowed).
    pub async fn admit(
        &self,
        headers: &HeaderMap,
        extensions: &Extensions,
    ) -> Result<Option<Admission>, Refusal> {
        let Some(credentials) = Credentials::from_headers(headers)? else {
            return Ok(None);
        };
        self.admit_from(&credentials, || self.client_address(headers, extensions), headers)
            .await
            .map(Some)
    }

    /// Lets in a request presenting `credentials` from `address`.
    pub async fn admit_credentials(
        &self,
        credentials: &Credentials,
        address: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Result<Admission, Refusal> {
        self.admit_from(credentials, || address, headers).await
    }

    /// Lets in a request presenting `credentials` from the address `address` finds, which only
    /// credentials not cached need.
    async fn admit_from(
        &self,
        credentials: &Credentials,
        address: impl FnOnce() -> Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Result<Admission, Refusal> {
        let principal = match self.authenticator.cached(credentials).await {
            Some(principal) => principal,
            // Only credentials not yet verified are checked against the address's failures, so a
            // known key costs one rate-limit count and nothing more.
            // Boxed: the auth service call's state is large and rarely needed, and every request's
            // future would otherwise carry room for it.
            None => Box::pin(self.verify(credentials, address())).await?,
        };
        let decision = self.rate_limiter.check_user(&principal, headers).await;
        match decision {
            Some(decision) if !decision.allowed => Err(Refusal {
                error: decision.error(),
                decision: Some(decision),
            }),
            _ => Ok(Admission { principal, decision }),
        }
    }

    /// Asks the auth service about credentials the cache does not know, unless `address` already
    /// sent too many bad ones this minute; a bad one counts against it.
    async fn verify(
        &self,
        credentials: &Credentials,
        address: Option<IpAddr>,
    ) -> Result<Arc<Principal>, Refusal> {
        if let Some(address) = address
            && let Some(refusal) = self.rate_limiter.failures_exceeded(address).await
        {
            return Err(Refusal {
                error: refusal.error(),
                decision: Some(refusal),
            });
        }
        match self.authenticator.authenticate(credentials).await {
            Ok(principal) => Ok(principal),
            Err(error) => {
                if let Some(address) = address
                    && matches!(error.code(), ErrorCode::InvalidToken | ErrorCode::TokenExpired)
                {
                    self.rate_limiter.count_failure(address).await;
                }
                Err(error.into())
            }
        }
    }
}
