//! The REST middleware: metrics and timeouts, body limits, authentication and rate limits.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gpuproxy_errors::ErrorCode;
use gpuproxy_telemetry::RequestLabels;

use crate::gatekeeper::Refusal;
use crate::rate_limit::RateDecision;
use crate::{AppState, Error};

/// Bounds the request's time, then counts it (route template, status, latency) and its error code.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            Error::new(ErrorCode::Timeout, "the request took longer than REQUEST_TIMEOUT").into_response()
        }
    };
    if let Some(code) = response.extensions().get::<ErrorCode>() {
        state.metrics.record_error(code.as_str());
    }
    let labels = RequestLabels {
        protocol: "rest",
        route,
        status: response.status().as_u16().to_string(),
    };
    state
        .metrics
        .record_request(labels, started.elapsed().as_secs_f64());
    response
}

/// Refuses a declared body larger than the limit before reading any of it. Bodies without a length
/// (chunked) are cut off at the same limit when a handler reads them.
pub async fn limit_body_size(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > state.max_body_bytes as u64) {
        let message = format!("the request body is larger than {} bytes", state.max_body_bytes);
        return Error::new(ErrorCode::PayloadTooLarge, message).into_response();
    }
    next.run(request).await
}

/// Requires credentials, resolves them to a principal for the handlers, and counts the request
/// against the user's rate limit (headers on every response, 429 past the limit).
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let admission = match state
        .gatekeeper
        .admit(request.headers(), request.extensions())
        .await
    {
        Ok(Some(admission)) => admission,
        Ok(None) => {
            let error = Error::new(
                ErrorCode::Unauthenticated,
                "send X-API-Key or Authorization: Bearer <token>",
            );
            return error.into_response();
        }
        Err(refusal) => return refused(refusal),
    };
    request
        .extensions_mut()
        .insert::<Arc<gpuproxy_domain::Principal>>(admission.principal);
    within_limit(admission.decision, request, next).await
}

/// Counts an anonymous request (register, login) against its client address's limit, which slows
/// password guessing and account spraying.
pub async fn limit_anonymous(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let address = state
        .gatekeeper
        .client_address(request.headers(), request.extensions())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let decision = state.gatekeeper.rate_limiter.check_address(address).await;
    within_limit(decision, request, next).await
}

fn refused(refusal: Refusal) -> Response {
    let mut response = refusal.error.into_response();
    if let Some(decision) = refusal.decision {
        decision.write_headers(response.headers_mut());
    }
    response
}

/// Answers 429 past the limit; otherwise runs the request. Either way the response carries the
/// window's `X-RateLimit-*` headers (none when limits are off or the limiter is unavailable).
async fn within_limit(decision: Option<RateDecision>, request: Request, next: Next) -> Response {
    let mut response = match decision {
        Some(decision) if !decision.allowed => decision.error().into_response(),
        _ => next.run(request).await,
    };
    if let Some(decision) = decision {
        decision.write_headers(response.headers_mut());
    }
    response
}
