//! The REST middleware of authenticated and anonymous routes: credentials and rate limits.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;

use crate::AppState;
use crate::gatekeeper::Refusal;
use crate::rate_limit::RateDecision;
use crate::rest::principal::missing_credentials;

/// Wraps each authenticated route with [`Authenticate`], admitting with `state`'s gatekeeper.
pub fn authenticate<S>(state: AppState) -> impl tower::Layer<S, Service = Authenticate<S>> + Clone {
    tower::layer::layer_fn(move |inner| Authenticate {
        inner,
        state: state.clone(),
    })
}

/// Requires credentials, resolves them to a principal for the handlers, and counts the request
/// against the user's rate limit (headers on every response, 429 past the limit). A tower service
/// rather than `from_fn`, which boxes the rest of the chain anew for every request.
#[derive(Debug, Clone)]
pub struct Authenticate<S> {
    inner: S,
    state: AppState,
}

impl<S> tower::Service<Request> for Authenticate<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let state = self.state.clone();
        // The clone is not ready; the ready one handles this request (tower's standard pattern).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let decision = match admit(&state, &mut request).await {
                Ok(decision) => decision,
                Err(refused) => return Ok(refused),
            };
            let answer = async move {
                match inner.call(request).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                }
            };
            Ok(within_limit(decision, answer).await)
        })
    }
}

/// Lets `request` in, with the caller's principal put on it for the handlers, and returns its rate
/// window; or returns the answer that keeps it out (no credentials, bad ones, over the limit).
pub async fn admit(state: &AppState, request: &mut Request) -> Result<Option<RateDecision>, Response> {
    match state
        .gatekeeper
        .admit(request.headers(), request.extensions())
        .await
    {
        Ok(Some(admission)) => {
            request
                .extensions_mut()
                .insert::<Arc<gpuproxy_domain::Principal>>(admission.principal);
            Ok(admission.decision)
        }
        Ok(None) => Err(missing_credentials().into_response()),
        Err(refusal) => Err(refused(refusal)),
    }
}

/// Counts an anonymous request (register, login) against its client address's limit, which slows
/// password guessing and account spraying.
pub async fn limit_anonymous(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let address = state
        .gatekeeper
        .client_address(request.headers(), request.extensions())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let decision = state.gatekeeper.rate_limiter.check_address(address).await;
    within_limit(decision, next.run(request)).await
}

fn refused(refusal: Refusal) -> Response {
    let mut response = refusal.error.into_response();
    if let Some(decision) = refusal.decision {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// Answers 429 past the limit; otherwise runs the request (`answer`). Either way the response
/// carries the window's `X-RateLimit-*` headers (none when limits are off or the limiter is
/// unavailable).
pub async fn within_limit(
    decision: Option<RateDecision>,
    answer: impl Future<Output = Response>,
) -> Response {
    let mut response = match decision {
        Some(decision) if !decision.allowed => return refuse(decision),
        _ => answer.await,
    };
    if let Some(decision) = decision {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// The 429 of a request over its limit, with the window's headers.
fn refuse(decision: RateDecision) -> Response {
    let mut response = decision.error().into_response();
    decision.write_headers(response.headers_mut());
    response
}
