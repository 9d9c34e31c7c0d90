//! Exporting traces over OTLP.

use opentelemetry::trace::TracerProvider;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{Layer, Registry};

/// Returns a tracer provider that batches spans to `endpoint` (OTLP over gRPC) and the layer that
/// feeds it from `tracing` spans.
pub(crate) fn layer(
    endpoint: &str,
    service_name: &str,
) -> anyhow::Result<(SdkTracerProvider, Box<dyn Layer<Registry> + Send + Sync>)> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service_name.to_owned())
                .build(),
        )
        .build();
    let tracer = provider.tracer(service_name.to_owned());
    let layer = tracing_opentelemetry::layer().with_tracer(tracer).boxed();
    Ok((provider, layer))
}
