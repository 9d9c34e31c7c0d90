//! Logging, tracing and metrics variables (`LOG_*`, `SYSLOG_*`, `OTEL_*`).

use std::path::PathBuf;

use crate::Reader;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (`LOG_FORMAT=json`), for log shippers.
    Json,
    /// Human-readable, coloured on a terminal (`LOG_FORMAT=pretty`).
    Pretty,
}

/// The transport to a syslog daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogNetwork {
    /// The local socket (`/dev/log` unless `SYSLOG_ADDRESS` names another path).
    Unix,
    /// RFC 3164 over UDP to `SYSLOG_ADDRESS`.
    Udp,
    /// RFC 3164 over TCP to `SYSLOG_ADDRESS`.
    Tcp,
}

/// Where syslog lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogConfig {
    /// `SYSLOG_NETWORK` (empty = the local socket).
    pub network: SyslogNetwork,
    /// `SYSLOG_ADDRESS`: `host:port` for udp/tcp, a socket path for unix (empty = `/dev/log`).
    pub address: Option<String>,
    /// `SYSLOG_TAG`.
    pub tag: String,
    /// `SYSLOG_FACILITY`, as a syslog name such as `LOG_LOCAL0`.
    pub facility: String,
}

/// What the process logs, where, and where it sends traces.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `LOG_LEVEL`: a level (`info`) or a full filter (`info,gpuproxy_auth=debug`).
    pub log_level: String,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// `LOG_FILE`, else `AISERVE_LOG_FILE`: log to this file instead of standard error.
    pub log_file: Option<PathBuf>,
    /// Set when `SYSLOG_ENABLED=true`: log to syslog as well.
    pub syslog: Option<SyslogConfig>,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: export traces there over OTLP/gRPC.
    pub otlp_endpoint: Option<String>,
    /// `OTEL_SERVICE_NAME`: the service name on exported traces (default: the process's role).
    pub service_name: Option<String>,
}

const FACILITIES: &[&str] = &[
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "audit",
    "alert",
    "clock_daemon",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

impl TelemetryConfig {
    /// Reads the telemetry variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let log_level = reader.string("LOG_LEVEL", "info");
        if !is_log_filter(&log_level) {
            reader.invalid(
                "LOG_LEVEL",
                Some(&log_level),
                "expected trace, debug, info, warn, error, off or a filter such as info,gpuproxy_auth=debug",
            );
        }
        let log_format = reader.choice(
            "LOG_FORMAT",
            LogFormat::Pretty,
            &[
                ("pretty", LogFormat::Pretty),
                ("json", LogFormat::Json),
                ("text", LogFormat::Pretty),
            ],
        );
        let log_file = reader.optional_string("LOG_FILE");
        let aiserve_log_file = reader.optional_string("AISERVE_LOG_FILE");
        let syslog_enabled = reader.bool("SYSLOG_ENABLED", false);
        let network = reader.choice(
            "SYSLOG_NETWORK",
            SyslogNetwork::Unix,
            &[
                ("unix", SyslogNetwork::Unix),
                ("udp", SyslogNetwork::Udp),
                ("tcp", SyslogNetwork::Tcp),
            ],
        );
        let address = reader.optional_string("SYSLOG_ADDRESS");
        let tag = reader.string("SYSLOG_TAG", "aiserve-gpuproxy");
        let facility = reader.string("SYSLOG_FACILITY", "LOG_LOCAL0");
        let bare_facility = facility.to_ascii_lowercase();
        let bare_facility = bare_facility.strip_prefix("log_").unwrap_or(&bare_facility);
        if !FACILITIES.contains(&bare_facility) {
            reader.invalid(
                "SYSLOG_FACILITY",
                Some(&facility),
                "expected a facility such as LOG_LOCAL0 … LOG_LOCAL7 or LOG_DAEMON",
            );
        }
        if syslog_enabled && network != SyslogNetwork::Unix && address.is_none() {
            reader.invalid(
                "SYSLOG_ADDRESS",
                None,
                "required when SYSLOG_NETWORK is udp or tcp (e.g. logs.example.com:514)",
            );
        }
        // "SYSLOG_ADDRESS=/dev/log" with no network means the local socket, as in the seed's example.
        let network = if address.as_deref().is_some_and(|address| address.starts_with('/')) {
            SyslogNetwork::Unix
        } else {
            network
        };
        let otlp_endpoint = reader.optional_string("OTEL_EXPORTER_OTLP_ENDPOINT");
        if let Some(endpoint) = &otlp_endpoint {
            crate::url::check_http_url(reader, "OTEL_EXPORTER_OTLP_ENDPOINT", endpoint);
        }
        TelemetryConfig {
            log_level,
            log_format,
            log_file: log_file.or(aiserve_log_file).map(PathBuf::from),
            syslog: syslog_enabled.then_some(SyslogConfig {
                network,
                address,
                tag,
                facility,
            }),
            otlp_endpoint,
            service_name: reader.optional_string("OTEL_SERVICE_NAME"),
        }
    }

    /// Returns a configuration that logs `log_level` to standard error and nothing else, for tests.
    pub fn stderr(log_level: &str) -> Self {
        TelemetryConfig {
            log_level: log_level.to_owned(),
            log_format: LogFormat::Pretty,
            log_file: None,
            syslog: None,
            otlp_endpoint: None,
            service_name: None,
        }
    }
}

/// A bare word must be a level: `EnvFilter` would read `verbose` as a target name and log nothing else.
fn is_log_filter(text: &str) -> bool {
    const LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error", "off"];
    if !text.contains([',', '=']) {
        return LEVELS.contains(&text.to_ascii_lowercase().as_str());
    }
    tracing_subscriber::EnvFilter::try_new(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EnvMap;

    fn read(pairs: &[(&str, &str)]) -> Result<TelemetryConfig, crate::ConfigErrors> {
        let env = EnvMap::from_pairs(pairs.iter().copied());
        let mut reader = Reader::new(&env);
        let config = TelemetryConfig::read(&mut reader);
        reader.finish(config)
    }

    #[test]
    fn log_file_wins_over_aiserve_log_file() {
        let config = read(&[("LOG_FILE", "/a.log"), ("AISERVE_LOG_FILE", "/b.log")]).expect("valid");
        assert_eq!(config.log_file, Some(PathBuf::from("/a.log")));
        let config = read(&[("AISERVE_LOG_FILE", "/b.log")]).expect("valid");
        assert_eq!(config.log_file, Some(PathBuf::from("/b.log")));
    }

    #[test]
    fn the_seed_syslog_examples_are_accepted() {
        let remote = read(&[
            ("SYSLOG_ENABLED", "true"),
            ("SYSLOG_NETWORK", "tcp"),
            ("SYSLOG_ADDRESS", "logs.example.com:514"),
            ("SYSLOG_FACILITY", "LOG_LOCAL0"),
        ])
        .expect("valid");
        let syslog = remote.syslog.expect("enabled");
        assert_eq!(syslog.network, SyslogNetwork::Tcp);
        let local = read(&[("SYSLOG_ENABLED", "true"), ("SYSLOG_ADDRESS", "/dev/log")]).expect("valid");
        assert_eq!(local.syslog.expect("enabled").network, SyslogNetwork::Unix);
    }

    #[test]
    fn remote_syslog_without_an_address_is_refused() {
        let errors = read(&[("SYSLOG_ENABLED", "true"), ("SYSLOG_NETWORK", "udp")]).expect_err("no address");
        assert!(errors.names("SYSLOG_ADDRESS"));
    }

    #[test]
    fn an_unknown_facility_and_a_bad_level_are_both_reported() {
        let errors =
            read(&[("SYSLOG_FACILITY", "LOG_LOCAL9"), ("LOG_LEVEL", "verbose")]).expect_err("two bad values");
        assert!(errors.names("SYSLOG_FACILITY"));
        assert!(errors.names("LOG_LEVEL"));
        let errors = read(&[("LOG_LEVEL", "info,gpuproxy_auth=loud")]).expect_err("bad directive");
        assert!(errors.names("LOG_LEVEL"));
    }

    #[test]
    fn levels_and_filters_are_accepted() {
        for filter in [
            "info",
            "DEBUG",
            "warn,gpuproxy_auth=trace",
            "gpuproxy_gateway=debug",
        ] {
            assert!(read(&[("LOG_LEVEL", filter)]).is_ok(), "{filter}");
        }
    }

    #[test]
    fn json_format_is_selected_by_name() {
        assert_eq!(
            read(&[("LOG_FORMAT", "json")]).expect("valid").log_format,
            LogFormat::Json
        );
    }
}
