//! The Prometheus registry behind `/metrics`.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of one served request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// `rest` or `grpc`.
    pub protocol: &'static str,
    /// The route template (`/api/v1/auth/apikey/{id}`) or the gRPC method, never a raw path, so that
    /// ids in URLs cannot blow up the number of series.
    pub route: String,
    /// The HTTP status or gRPC code.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    protocol: &'static str,
    route: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    code: &'static str,
}

/// The process's metrics. Cheap to clone; every clone updates the same series.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: std::sync::Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    errors: Family<ErrorLabels, Counter>,
    active_instances: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates the registry with the series every deployment has.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "gpuproxy_requests",
            "Requests served, by protocol, route and status",
            requests.clone(),
        );
        let latency =
            Family::<RouteLabels, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        registry.register(
            "gpuproxy_latency_seconds",
            "Time to serve a request",
            latency.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "gpuproxy_errors",
            "Error responses, by error code",
            errors.clone(),
        );
        let active_instances = Gauge::default();
        registry.register(
            "gpuproxy_active_instances",
            "GPU instances currently rented",
            active_instances.clone(),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry: std::sync::Mutex::new(registry),
                requests,
                latency,
                errors,
                active_instances,
            }),
        }
    }

    /// Counts one served request and its latency.
    pub fn record_request(&self, labels: RequestLabels, seconds: f64) {
        self.inner
            .latency
            .get_or_create(&RouteLabels {
                protocol: labels.protocol,
                route: labels.route.clone(),
            })
            .observe(seconds);
        self.inner.requests.get_or_create(&labels).inc();
    }

    /// Returns the series of one route, resolved once for a hot path (the proxy's streaming route),
    /// so that counting a request costs neither label hashing nor allocations.
    pub fn route_series(&self, protocol: &'static str, route: &'static str) -> RouteSeries {
        let latency = self
            .inner
            .latency
            .get_or_create(&RouteLabels {
                protocol,
                route: route.to_owned(),
            })
            .clone();
        RouteSeries {
            metrics: self.clone(),
            protocol,
            route,
            latency,
            by_status: Arc::default(),
        }
    }

    /// Counts one error response by its code.
    pub fn record_error(&self, code: &'static str) {
        self.inner.errors.get_or_create(&ErrorLabels { code }).inc();
    }

    /// Sets the number of rented instances.
    pub fn set_active_instances(&self, count: i64) {
        self.inner.active_instances.set(count);
    }

    /// Lets a service register series of its own (e.g. provider latency) in the same registry.
    pub fn register(&self, name: &str, help: &str, metric: impl prometheus_client::registry::Metric) {
        if let Ok(mut registry) = self.inner.registry.lock() {
            registry.register(name, help, metric);
        }
    }

    /// Returns every series in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        if let Ok(registry) = self.inner.registry.lock()
            && let Err(error) = prometheus_client::encoding::text::encode(&mut text, &registry)
        {
            tracing::error!(%error, "encoding metrics failed");
        }
        text
    }
}

/// One route's series (see [`Metrics::route_series`]). Cheap to clone; clones share the series.
#[derive(Clone)]
pub struct RouteSeries {
    metrics: Metrics,
    protocol: &'static str,
    route: &'static str,
    latency: Histogram,
    /// The request counter of each status seen so far.
    by_status: Arc<std::sync::Mutex<Vec<(u16, Counter)>>>,
}

impl std::fmt::Debug for RouteSeries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteSeries")
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

impl RouteSeries {
    /// Counts one request answered with `status` after `seconds`, as [`Metrics::record_request`]
    /// would with this route's labels.
    pub fn record(&self, status: u16, seconds: f64) {
        self.latency.observe(seconds);
        let mut by_status = self
            .by_status
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, counter)) = by_status.iter().find(|(seen, _)| *seen == status) {
            counter.inc();
            return;
        }
        let counter = self
            .metrics
            .inner
            .requests
            .get_or_create(&RequestLabels {
                protocol: self.protocol,
                route: self.route.to_owned(),
                status: status.to_string(),
            })
            .clone();
        counter.inc();
        by_status.push((status, counter));
    }
}

/// Buckets from 100 µs to about 13 s: a gateway hop is sub-millisecond, a provider call seconds.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 18))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_series_are_rendered_with_their_values() {
        let metrics = Metrics::new();
        metrics.record_request(
            RequestLabels {
                protocol: "rest",
                route: "/health".to_owned(),
                status: "200".to_owned(),
            },
            0.002,
        );
        metrics.record_error("RATE_LIMITED");
        metrics.set_active_instances(3);
        let text = metrics.render();
        assert!(
            text.contains(r#"gpuproxy_requests_total{protocol="rest",route="/health",status="200"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gpuproxy_latency_seconds_count{protocol="rest",route="/health"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"gpuproxy_errors_total{code="RATE_LIMITED"} 1"#),
            "{text}"
        );
        assert!(text.contains("gpuproxy_active_instances 3"), "{text}");
    }

    #[test]
    fn a_route_series_counts_into_the_same_series_as_labels_do() {
        let metrics = Metrics::new();
        let series = metrics.route_series("rest", "/route/{*path}");
        series.record(200, 0.001);
        series.record(200, 0.001);
        series.record(504, 2.0);
        metrics.record_request(
            RequestLabels {
                protocol: "rest",
                route: "/route/{*path}".to_owned(),
                status: "200".to_owned(),
            },
            0.001,
        );
        let text = metrics.render();
        assert!(
            text.contains(
                r#"gpuproxy_requests_total{protocol="rest",route="/route/{*path}",status="200"} 3"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"gpuproxy_requests_total{protocol="rest",route="/route/{*path}",status="504"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"gpuproxy_latency_seconds_count{protocol="rest",route="/route/{*path}"} 4"#),
            "{text}"
        );
    }
}
