//! Installing the global tracing subscriber.

use std::path::Path;

use gpuproxy_config::{LogFormat, TelemetryConfig};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::otlp;
use crate::syslog_writer::SyslogWriter;

/// Keeps log writers and the trace exporter alive; dropping it flushes both. Hold it in `main`.
#[must_use = "dropping the guard stops file logging and trace export"]
pub struct TelemetryGuard {
    _file_writer: Option<WorkerGuard>,
    tracer_provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl std::fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryGuard").finish_non_exhaustive()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take()
            && let Err(error) = provider.shutdown()
        {
            tracing::warn!(%error, "flushing traces failed");
        }
    }
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// Installs the process-wide subscriber: the level filter, one formatted output (the log file when
/// set, standard error otherwise), syslog when enabled, and OTLP trace export when an endpoint is set.
/// `role` names the process in traces and syslog (e.g. `gateway`).
pub fn init(config: &TelemetryConfig, role: &str) -> anyhow::Result<TelemetryGuard> {
    let filter = EnvFilter::try_new(&config.log_level)?;
    let mut layers: Vec<BoxedLayer> = Vec::new();

    let file_writer = match &config.log_file {
        Some(path) => {
            let (writer, guard) = file_writer(path)?;
            layers.push(format_layer(config.log_format, writer, false));
            Some(guard)
        }
        None => {
            let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
            layers.push(format_layer(config.log_format, std::io::stderr, ansi));
            None
        }
    };

    if let Some(syslog) = &config.syslog {
        let writer = SyslogWriter::connect(syslog)?;
        layers.push(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .without_time()
                .with_level(false)
                .boxed(),
        );
    }

    let tracer_provider = match &config.otlp_endpoint {
        Some(endpoint) => {
            let service_name = config
                .service_name
                .clone()
                .unwrap_or_else(|| format!("gpuproxy-{role}"));
            let (provider, layer) = otlp::layer(endpoint, &service_name)?;
            layers.push(layer);
            Some(provider)
        }
        None => None,
    };

    tracing_subscriber::registry()
        .with(layers)
        .with(filter)
        .try_init()?;
    Ok(TelemetryGuard {
        _file_writer: file_writer,
        tracer_provider,
    })
}

/// Installs a subscriber for tests: silent unless `enabled` (the testkit passes `TEST_LOG=1`).
/// Safe to call from every test; only the first call installs anything.
pub fn init_for_tests(enabled: bool) {
    if !enabled {
        return;
    }
    let filter = EnvFilter::new("info,gpuproxy=debug,sqlx=warn");
    let _already_installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

fn format_layer<W>(format: LogFormat, writer: W, ansi: bool) -> BoxedLayer
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(ansi)
            .boxed(),
    }
}

fn file_writer(path: &Path) -> anyhow::Result<(tracing_appender::non_blocking::NonBlocking, WorkerGuard)> {
    let directory = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| anyhow::anyhow!("LOG_FILE {} names a directory, not a file", path.display()))?;
    std::fs::create_dir_all(directory)?;
    // Opening the file here turns a bad path into a start-up error instead of silently lost logs.
    std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let appender = tracing_appender::rolling::never(directory, file_name);
    Ok(tracing_appender::non_blocking(appender))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_file_in_a_missing_directory_is_created() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested/aiserve.log");
        let (_writer, _guard) = file_writer(&path).expect("created");
        assert!(path.exists());
    }

    #[test]
    fn a_log_file_path_that_is_a_directory_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(file_writer(&dir.path().join("..")).is_err());
    }
}
