//! Provider series in the process's Prometheus registry.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

use gpuproxy_domain::Provider;
use gpuproxy_telemetry::Metrics;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    provider: &'static str,
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LatencyLabels {
    provider: &'static str,
    operation: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

/// `gpuproxy_provider_requests_total`, `gpuproxy_provider_latency_seconds`,
/// `gpuproxy_provider_breaker_state` and `gpuproxy_provider_offers`.
#[derive(Debug, Clone)]
pub struct ProviderMetrics {
    requests: Family<CallLabels, Counter>,
    latency: Family<LatencyLabels, Histogram>,
    breaker: Family<ProviderLabels, Gauge>,
    offers: Family<ProviderLabels, Gauge>,
}

impl ProviderMetrics {
    /// Registers the series in `metrics`.
    pub fn register(metrics: &Metrics) -> Self {
        let this = ProviderMetrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            breaker: Family::default(),
            offers: Family::default(),
        };
        metrics.register(
            "gpuproxy_provider_requests",
            "HTTP calls to GPU providers, by provider, operation and outcome",
            this.requests.clone(),
        );
        metrics.register(
            "gpuproxy_provider_latency_seconds",
            "Time of one HTTP call to a GPU provider",
            this.latency.clone(),
        );
        metrics.register(
            "gpuproxy_provider_breaker_state",
            "Circuit breaker per provider: 0 closed, 1 half-open, 2 open",
            this.breaker.clone(),
        );
        metrics.register(
            "gpuproxy_provider_offers",
            "Offers in the catalog's cache, per provider",
            this.offers.clone(),
        );
        this
    }

    /// Counts one HTTP attempt.
    pub fn record_call(
        &self,
        provider: Provider,
        operation: &'static str,
        outcome: &'static str,
        seconds: f64,
    ) {
        let provider = provider.as_str();
        self.requests
            .get_or_create(&CallLabels {
                provider,
                operation,
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels { provider, operation })
            .observe(seconds);
    }

    /// Sets the breaker gauge.
    pub fn set_breaker(&self, provider: Provider, value: i64) {
        self.breaker
            .get_or_create(&ProviderLabels {
                provider: provider.as_str(),
            })
            .set(value);
    }

    /// Sets the cached offer count.
    pub fn set_offers(&self, provider: Provider, count: usize) {
        self.offers
            .get_or_create(&ProviderLabels {
                provider: provider.as_str(),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}
