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
use gpuproxy_telemetry::{Metrics, RequestLabels, RouteSeries};
use http::{HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

use crate::rest::models::UPLOAD_ROUTE;
use crate::{AppState, Error};

/// The header carrying the request id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps each route of the router with [`FrontLine`]: counting into `state`'s metrics under the
/// matched route's template, answering `TIMEOUT` after its `request_timeout` and refusing declared
/// bodies over its `max_body_bytes`.
pub fn front_line<S>(state: AppState) -> impl tower::Layer<S, Service = FrontLine<S>> + Clone {
    tower::layer::layer_fn(move |inner| FrontLine {
        inner,
        state: state.clone(),
    })
}

/// Gives the request an id (UUID v7 unless the caller sent one) and echoes it on the answer, runs
/// the request in a span, refuses a declared body over the limit before any of it is read, bounds
/// the time to the answer's head, and counts the answer (route template, status, latency, error
/// code). Server errors are logged at `error`, as tower-http's trace layer did. The streaming
/// route does the same without the layer (`rest/dispatch.rs`), through [`Arrival`].
#[derive(Debug, Clone)]
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
        let (arrival, span) = Arrival::of(&mut request);
        let (route, time_bound) = match request.extensions().get::<MatchedPath>() {
            Some(path) if PROXYING_ROUTES.contains(&path.as_str()) || path.as_str() == UPLOAD_ROUTE => {
                (path.as_str().to_owned(), None)
            }
            Some(path) => (path.as_str().to_owned(), Some(self.state.request_timeout)),
            None => ("unmatched".to_owned(), Some(self.state.request_timeout)),
        };
        let state = self.state.clone();
        let body_limit = if route == UPLOAD_ROUTE {
            state.max_upload_bytes
        } else {
            state.max_body_bytes
        };
        // Called here rather than in the future: the inner future owns what it needs, so the
        // service need not be cloned into it.
        let answer = match too_large(request.headers(), body_limit) {
            Some(refusal) => Err(refusal),
            None => Ok(self.inner.call(request)),
        };
        let answering = async move {
            let response = match (answer, time_bound) {
                (Err(refusal), _) => refusal.into_response(),
                (Ok(inner), None) => match inner.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                },
                (Ok(inner), Some(bound)) => match tokio::time::timeout(bound, inner).await {
                    Ok(Ok(response)) => response,
                    Ok(Err(never)) => match never {},
                    Err(_) => Error::new(ErrorCode::Timeout, "the request took longer than REQUEST_TIMEOUT")
                        .into_response(),
                },
            };
            Ok(arrival.answered(&state.metrics, Series::Labelled(route), response))
        };
        Box::pin(answering.instrument(span))
    }
}

/// A request as the front line took it in: when, and under which id.
#[derive(Debug)]
pub struct Arrival {
    started: Instant,
    request_id: HeaderValue,
}

impl Arrival {
    /// Gives `request` its id and returns its arrival with the span to run it in.
    pub fn of(request: &mut Request) -> (Arrival, tracing::Span) {
        let started = Instant::now();
        let request_id = request_id(request.headers_mut());
        // A disabled span still costs its creation (and `log` compatibility checks) per request.
        let span = if tracing::level_filters::LevelFilter::current() >= tracing::Level::INFO {
            tracing::info_span!(
                "http",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = request_id.to_str().unwrap_or_default(),
            )
        } else {
            tracing::Span::none()
        };
        (Arrival { started, request_id }, span)
    }

    /// Counts `response` into `series` (and `metrics`), logs it, and echoes the request id on it.
    pub fn answered(self, metrics: &Metrics, series: Series<'_>, mut response: Response) -> Response {
        count(metrics, series, &response, self.started.elapsed());
        response.headers_mut().insert(REQUEST_ID, self.request_id);
        response
    }
}

/// Routes in the router whose requests carry their own time limit, which `REQUEST_TIMEOUT` must
/// not cut short (and model uploads, [`UPLOAD_ROUTE`], which take as long as their client takes
/// to send them, up to `ML_MAX_MODEL_BYTES`): the proxy (`timeout`, `X-Timelimit`, up to `PROXY_MAX_TIMEOUT`), and the agent
/// fronts, whose actions are bounded by the agents service (a reservation waits for its instances
/// to start) and whose proxied requests by the proxy's limits. Cutting them would tell an agent that
/// a rent failed while it goes on.
const PROXYING_ROUTES: [&str; 8] = [
    "/api/v1/gpu/proxy",
    "/api/v1/mcp",
    "/api/v1/a2a",
    "/api/v1/acp",
    "/api/v1/fipa",
    "/api/v1/kqml",
    "/api/v1/langchain",
    "/api/v1/agent",
];

/// Where a request is counted: under a route template's labels, or into a route's series
/// resolved beforehand.
#[derive(Debug)]
pub enum Series<'a> {
    /// The route's template, as labels.
    Labelled(String),
    /// The route's series.
    Resolved(&'a RouteSeries),
}

/// Counts the answer into `metrics` and logs it (server errors at `error`).
fn count(metrics: &Metrics, series: Series<'_>, response: &Response, latency: Duration) {
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
    match series {
        Series::Resolved(series) => series.record(status.as_u16(), latency.as_secs_f64()),
        Series::Labelled(route) => {
            let labels = RequestLabels {
                protocol: "rest",
                route,
                status: status.as_u16().to_string(),
            };
            metrics.record_request(labels, latency.as_secs_f64());
        }
    }
}

/// The caller's request id, or a new one written into the request for the handlers.
fn request_id(headers: &mut HeaderMap) -> HeaderValue {
    if let Some(sent) = headers.get(&REQUEST_ID) {
        return sent.clone();
    }
    let mut text = uuid::Uuid::encode_buffer();
    // Without the shared context `now_v7` keeps (a lock both workers take for every request): ids
    // made in the same millisecond differ by their random bits rather than by a counter.
    let id = uuid::Uuid::new_v7(uuid::Timestamp::now(uuid::NoContext))
        .hyphenated()
        .encode_lower(&mut text);
    let value = HeaderValue::from_str(id).unwrap_or_else(|_| HeaderValue::from_static("unknown"));
    headers.insert(REQUEST_ID, value.clone());
    value
}

/// `PAYLOAD_TOO_LARGE` for a declared body over `limit`. Bodies without a length (chunked) are cut
/// off at the same limit when a handler reads them.
pub fn too_large(headers: &HeaderMap, limit: usize) -> Option<Error> {
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
