//! Counting public gRPC calls.

use std::convert::Infallible;
use std::time::Instant;

use gpuproxy_telemetry::{Metrics, RequestLabels};
use tonic::body::Body;

use crate::public_grpc::layered::{CallStep, Next};
use crate::public_grpc::methods::route_label;

/// Counts each call by method and status, with its latency, and errors by their code. A unary
/// call's status is in its headers when it failed (a trailers-only answer) and absent when it
/// succeeded.
#[derive(Debug, Clone)]
pub struct Observe {
    metrics: Metrics,
}

impl Observe {
    /// Returns the step, counting into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Observe { metrics }
    }
}

impl CallStep for Observe {
    async fn around<S>(&self, request: http::Request<Body>, next: Next<S>) -> http::Response<Body>
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + Send
            + 'static,
        S::Future: Send + 'static,
    {
        let route = route_label(request.uri().path()).to_owned();
        let started = Instant::now();
        let response = next.run(request).await;
        let status = tonic::Status::from_header_map(response.headers());
        let code = status.as_ref().map_or(tonic::Code::Ok, tonic::Status::code);
        if let Some(status) = status.as_ref().filter(|status| status.code() != tonic::Code::Ok) {
            self.metrics
                .record_error(gpuproxy_errors::code_of(status).as_str());
        }
        let labels = RequestLabels {
            protocol: "grpc",
            route,
            status: format!("{code:?}"),
        };
        self.metrics
            .record_request(labels, started.elapsed().as_secs_f64());
        response
    }
}
