//! The REST service as served: requests for the streaming route go straight to the data plane,
//! every other request (the route's CORS preflights too) to the router.
//!
//! The route is the proxy's data plane: every inference call crosses it, while the rest of the API
//! is called now and then. axum's router would cost each of its requests a path match, five
//! extensions (the matched path, URL parameters, the original URI, the body limit, the OpenAPI
//! document), a boxed service clone and a boxed future per layer, and an extractor per argument;
//! on two cores that was about a sixth of the gateway's own CPU per routed request (README,
//! "Benchmarks"). The data plane does what the router's layers do for it, in the same order (front
//! line, CORS, authentication and rate limit), with the same functions, in one future.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::Router;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, Either};
use gpuproxy_telemetry::RouteSeries;
use http::header::ORIGIN;
use tower::Service;
use tracing::Instrument;

use crate::AppState;
use crate::data_plane::route::{ROUTE_PATH, ROUTE_PREFIX, route};
use crate::rest::cors::{CorsPolicy, is_preflight};
use crate::rest::front_line::{Arrival, Series, too_large};
use crate::rest::middleware::{admit, within_limit};

/// The whole REST API: the streaming route's data plane beside the router of everything else.
#[derive(Clone)]
pub struct RestService {
    api: Router,
    data_plane: DataPlane,
}

impl std::fmt::Debug for RestService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestService").finish_non_exhaustive()
    }
}

impl RestService {
    /// Serves `api`, and the streaming route with `state` and `cors`.
    pub(super) fn new(api: Router, state: AppState, cors: Arc<CorsPolicy>) -> Self {
        let series = Arc::new(state.metrics.route_series("rest", ROUTE_PATH));
        RestService {
            api,
            data_plane: DataPlane { state, cors, series },
        }
    }
}

/// The streaming route with everything around it. Cheap to clone.
#[derive(Debug, Clone)]
struct DataPlane {
    state: AppState,
    cors: Arc<CorsPolicy>,
    series: Arc<RouteSeries>,
}

impl DataPlane {
    /// Answers one request, which [`Arrival::of`] took in: the declared-size check; the caller's
    /// admission and rate limit; the route; CORS marks; the request's metrics and id. No
    /// `REQUEST_TIMEOUT`: `X-Timelimit` (or `PROXY_TIMEOUT`) bounds the exchange instead.
    async fn answer(self, arrival: Arrival, mut request: Request) -> Result<Response, Infallible> {
        let response = match too_large(request.headers(), self.state.max_body_bytes) {
            Some(refusal) => refusal.into_response(),
            None => {
                let origin = request.headers().get(ORIGIN).cloned();
                let mut response = match admit(&self.state, &mut request).await {
                    Err(refused) => refused,
                    Ok(decision) => {
                        let routed = async { route(&self.state.data_plane, request).await.into_response() };
                        within_limit(decision, routed).await
                    }
                };
                self.cors.mark(origin.as_ref(), response.headers_mut());
                response
            }
        };
        Ok(arrival.answered(&self.state.metrics, Series::Resolved(&self.series), response))
    }
}

/// Whether `path` is the streaming route's: its prefix and at least one character of the
/// instance's path (the router's `{*path}` matches nothing shorter).
fn is_route(path: &str) -> bool {
    path.strip_prefix(ROUTE_PREFIX)
        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
}

impl Service<Request> for RestService {
    type Response = Response;
    type Error = Infallible;
    type Future =
        Either<<Router as Service<Request>>::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        ready!(Service::<Request>::poll_ready(&mut self.api, context))?;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if is_route(request.uri().path()) && !is_preflight(&request) {
            let mut request = request;
            let (arrival, span) = Arrival::of(&mut request);
            let answer = self.data_plane.clone().answer(arrival, request);
            Either::Right(Box::pin(answer.instrument(span)))
        } else {
            Either::Left(self.api.call(request))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_route;

    #[test]
    fn only_paths_under_the_route_with_an_instance_path_take_the_route() {
        assert!(is_route("/api/v1/gpu/route/v1/chat/completions"));
        assert!(is_route("/api/v1/gpu/route/x"));
        assert!(is_route("/api/v1/gpu/route//double"));
        assert!(!is_route("/api/v1/gpu/route/"));
        assert!(!is_route("/api/v1/gpu/route"));
        assert!(!is_route("/api/v1/gpu/routes/x"));
        assert!(!is_route("/api/v1/gpu/instances"));
    }
}
