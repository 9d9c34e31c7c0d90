//! Observability for every process: logs, traces and metrics.
//!
//! Layout: `logging.rs` installs the global subscriber from a [`TelemetryConfig`] (format, level,
//! file or standard error, syslog, OTLP traces); `syslog_writer.rs` ships formatted lines to a syslog
//! daemon from a thread of its own, so a slow daemon never blocks a request; `otlp.rs` builds the
//! trace exporter; `metrics.rs` holds the Prometheus registry that `/metrics` renders.
//!
//! [`TelemetryConfig`]: gpuproxy_config::TelemetryConfig

mod logging;
mod metrics;
mod otlp;
mod syslog_writer;

pub use logging::{TelemetryGuard, init, init_for_tests};
pub use metrics::{Metrics, RequestLabels, RouteSeries};
