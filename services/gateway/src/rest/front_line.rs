//! The first thing every REST request meets: its request id, its span, the declared-size check,
//! the time bound and the metrics. One layer does all five because a stack of them (tower-http's
//! request-id, trace and propagate layers plus two `from_fn` middlewares) cost the streaming route
//! a measurable share of its throughput in futures, boxes and body wrappers (README, "Benchmarks").

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use gpuproxy_errors::ErrorCode;
use gpuproxy_telemetry::{Metrics, RequestLabels};
use http::{HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

use crate::{AppState, Error};

/// The header carrying the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps each route with [`FrontLine`]: counting into `state`'s metrics, answering `TIMEOUT` after
/// its `request_timeout` and refusing declared bodies over its `max_body_bytes`.
pub fn front_line<S>(state: AppState) -> impl tower::Layer<S, Service = FrontLine<S>> + Clone {
    tower::layer::layer_fn(move |inner| FrontLine {
        inner,
        state: state.clone(),
    })
}

/// Gives the request an id (UUID v7 unless the caller sent one) and echoes it on the answer, runs
/// the request in a span, refuses a declared body over the limit before any of it is read, bounds
/// the time to the answer's head, and counts the answer (route template, status, latency, error
/// code). Server errors are logged at `error`, as tower-http's trace layer did.
#[derive(Clone)]
pub struct FrontLine<S> {
    inner: S,
    state: AppState,
}

impl<S> tower::Service<Request> for FrontLine<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let started = Instant::now();
        let request_id = request_id(request.headers_mut());
        let span = tracing::info_span!(
            "http",
            method = %request.method(),
            path = %request.uri().path(),
            request_id = request_id.to_str().unwrap_or_default(),
        );
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
        let state = self.state.clone();
        // Called here rather than in the future: the inner future owns what it needs, so the
        // service need not be cloned into it.
        let answer = match too_large(request.headers(), state.max_body_bytes) {
            Some(refusal) => Err(refusal),
            None => Ok(self.inner.call(request)),
        };
        let answering = async move {
            let mut response = match answer {
                Err(refusal) => refusal.into_response(),
                Ok(inner) => match tokio::time::timeout(state.request_timeout, inner).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => Error::new(ErrorCode::Timeout, "the request took longer than REQUEST_TIMEOUT")
                        .into_response(),
                },
            };
            count(&state.metrics, route, &response, started.elapsed());
            response.headers_mut().insert(REQUEST_ID, request_id);
            Ok(response)
        };
        Box::pin(answering.instrument(span))
    }
}

/// Counts the answer into `metrics` and logs it (server errors at `error`).
fn count(metrics: &Metrics, route: String, response: &Response, latency: Duration) {
    let status = response.status();
    let code = response.extensions().get::<ErrorCode>();
    if let Some(code) = code {
        metrics.record_error(code.as_str());
    }
    if status.is_server_error() {
        tracing::error!(
            status = status.as_u16(),
            code = code.map(|code| code.as_str()),
            ?latency,
            "request failed"
        );
    } else {
        tracing::debug!(status = status.as_u16(), ?latency, "answered");
    }
    let labels = RequestLabels {
        protocol: "rest",
        route,
        status: status.as_u16().to_string(),
    };
    metrics.record_request(labels, latency.as_secs_f64());
}

/// The caller's request id, or a new one written into the request for the handlers.
fn request_id(headers: &mut HeaderMap) -> HeaderValue {
    if let Some(sent) = headers.get(&REQUEST_ID) {
        return sent.clone();
    }
    let mut text = uuid::Uuid::encode_buffer();
    let id = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut text);
    let value = HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("unknown"));
    headers.insert(REQUEST_ID, value.clone());
    value
}

/// `PAYLOAD_TOO_LARGE` for a declared body over `limit`. Bodies without a length (chunked) are cut
/// off at the same limit when a handler reads them.
fn too_large(headers: &HeaderMap, limit: usize) -> Option<Error> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())?;
    (declared > limit as u64).then(|| {
        Error::new(
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
    })
}
