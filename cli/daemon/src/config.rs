//! The daemon's configuration: every service's, read from one environment.

use std::time::Duration;

use gpuproxy_config::{ConfigErrors, EnvMap, ObjectStorageConfig, Reader, TelemetryConfig};

/// Everything the daemon reads from the environment and `.env`.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Logs, traces, metrics.
    pub telemetry: TelemetryConfig,
    /// The auth service.
    pub auth: gpuproxy_auth::Config,
    /// The gateway.
    pub gateway: gpuproxy_gateway::Config,
    /// The provider catalog (`VASTAI_*`, `IONET_*`, `CATALOG_*`, `PROVIDER_*`).
    pub catalog: gpuproxy_catalog::Config,
    /// The guard rails (`GUARDRAILS_*`).
    pub guardrails: gpuproxy_guardrails::Config,
    /// The reservation service and load balancer (`RESERVATION_*`, `RESERVE_*`, `INSTANCE_*`, `LB_*`).
    pub reservation: gpuproxy_reservation::Config,
    /// The billing service (`STRIPE_*`, `CRYPTO_*`, `AFTERDARK_*`, `CREDITS_*`, `PAYMENT_*`).
    pub billing: gpuproxy_billing::Config,
    /// The webhooks service (`WEBHOOK_*`).
    pub webhooks: gpuproxy_webhooks::Config,
    /// `SHUTDOWN_TIMEOUT`: how long in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `METRICS_PORT`: where a single internal service (`--service auth|catalog`) serves `/metrics`
    /// on `INTERNAL_HOST`; unset, it serves none (the gateway always serves its own).
    pub metrics_port: Option<u16>,
    /// Variables of services that later releases add (object storage). They are validated now so a
    /// bad value fails at start-up, not at first use.
    pub upcoming: UpcomingConfig,
}

/// The configuration of the services this release does not run yet.
#[derive(Debug, Clone)]
pub struct UpcomingConfig {
    /// `OCI_*`.
    pub object_storage: ObjectStorageConfig,
}

impl DaemonConfig {
    /// Reads every variable from `env`, reporting all bad values at once.
    pub fn from_env_map(env: &EnvMap, developer_mode: bool) -> Result<Self, ConfigErrors> {
        gpuproxy_config::read_all(env, |reader| Self::read(reader, developer_mode))
    }

    /// Reads every variable, recording problems in `reader`.
    pub fn read(reader: &mut Reader<'_>, developer_mode: bool) -> Self {
        DaemonConfig {
            telemetry: TelemetryConfig::read(reader),
            auth: gpuproxy_auth::Config::read(reader, developer_mode),
            gateway: gpuproxy_gateway::Config::read(reader),
            catalog: gpuproxy_catalog::Config::read(reader, developer_mode),
            guardrails: gpuproxy_guardrails::Config::read(reader, developer_mode),
            reservation: gpuproxy_reservation::Config::read(reader, developer_mode),
            billing: gpuproxy_billing::Config::read(reader, developer_mode),
            webhooks: gpuproxy_webhooks::Config::read(reader, developer_mode),
            shutdown_timeout: reader.duration("SHUTDOWN_TIMEOUT", Duration::from_secs(30)),
            metrics_port: reader.optional_parse("METRICS_PORT"),
            upcoming: UpcomingConfig {
                object_storage: ObjectStorageConfig::read(reader),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn env_example_names() -> BTreeSet<String> {
        let text = include_str!("../../../.env.example");
        text.lines()
            .map(str::trim)
            .map(|line| line.trim_start_matches('#').trim())
            .filter_map(|line| line.split_once('='))
            .map(|(name, _)| name.trim().to_owned())
            .filter(|name| {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_')
            })
            .collect()
    }

    #[test]
    fn env_example_lists_exactly_the_variables_the_daemon_reads() {
        let env = EnvMap::default();
        let mut reader = Reader::new(&env);
        DaemonConfig::read(&mut reader, true);
        let read: BTreeSet<String> = reader.names().iter().cloned().collect();
        let documented = env_example_names();
        let undocumented: Vec<&String> = read.difference(&documented).collect();
        let unknown: Vec<&String> = documented.difference(&read).collect();
        assert!(
            undocumented.is_empty(),
            "read but missing from .env.example: {undocumented:?}"
        );
        assert!(unknown.is_empty(), "in .env.example but never read: {unknown:?}");
    }

    #[test]
    fn the_values_in_env_example_are_valid_and_are_the_defaults() {
        let pairs = include_str!("../../../.env.example")
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()));
        let from_example = DaemonConfig::from_env_map(&EnvMap::from_pairs(pairs), true).expect("valid");
        let from_nothing = DaemonConfig::from_env_map(&EnvMap::default(), true).expect("valid");
        assert_eq!(
            format!("{:?}", from_example.gateway),
            format!("{:?}", from_nothing.gateway)
        );
        assert_eq!(from_example.auth.session_mode, from_nothing.auth.session_mode);
        assert_eq!(
            from_example.auth.database.describe(),
            from_nothing.auth.database.describe()
        );
        assert_eq!(from_example.auth.jwt.expiration, from_nothing.auth.jwt.expiration);
        assert_eq!(
            format!("{:?}", from_example.telemetry),
            format!("{:?}", from_nothing.telemetry)
        );
        assert_eq!(
            format!("{:?}", from_example.guardrails),
            format!("{:?}", from_nothing.guardrails)
        );
        assert_eq!(
            format!("{:?}", from_example.catalog),
            format!("{:?}", from_nothing.catalog)
        );
        assert_eq!(
            format!("{:?}", from_example.reservation),
            format!("{:?}", from_nothing.reservation)
        );
        assert_eq!(
            format!("{:?}", from_example.billing),
            format!("{:?}", from_nothing.billing)
        );
        assert_eq!(
            format!("{:?}", from_example.webhooks),
            format!("{:?}", from_nothing.webhooks)
        );
    }

    #[test]
    fn the_seed_variables_are_all_read() {
        let env = EnvMap::default();
        let mut reader = Reader::new(&env);
        DaemonConfig::read(&mut reader, true);
        let read: BTreeSet<&str> = reader.names().iter().map(String::as_str).collect();
        for name in [
            "DB_TYPE",
            "DB_HOST",
            "DB_PORT",
            "DB_USER",
            "DB_PASSWORD",
            "DB_NAME",
            "DB_USE_PGBOUNCER",
            "DB_MAX_CONNS",
            "REDIS_HOST",
            "REDIS_PORT",
            "SESSION_MODE",
            "JWT_SECRET",
            "VASTAI_API_KEY",
            "IONET_API_KEY",
            "OCI_STORAGE_ENDPOINT",
            "OCI_STORAGE_NAMESPACE",
            "OCI_STORAGE_BUCKET",
            "OCI_ACCESS_KEY_ID",
            "OCI_SECRET_ACCESS_KEY",
            "STRIPE_SECRET_KEY",
            "AFTERDARK_API_KEY",
            "CRYPTO_ENABLED",
            "LB_STRATEGY",
            "LB_ENABLED",
            "GUARDRAILS_ENABLED",
            "GUARDRAILS_MAX_5MIN_RATE",
            "GUARDRAILS_MAX_72H_RATE",
            "SYSLOG_ENABLED",
            "SYSLOG_NETWORK",
            "SYSLOG_ADDRESS",
            "SYSLOG_FACILITY",
            "LOG_FILE",
            "AISERVE_LOG_FILE",
            "GRPC_PORT",
            "GRPC_TLS_CERT",
            "GRPC_TLS_KEY",
            "LOG_LEVEL",
            "LOG_FORMAT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ] {
            assert!(read.contains(name), "{name} is not read");
        }
    }

    #[test]
    fn outside_developer_mode_a_missing_jwt_secret_stops_start_up_with_advice() {
        let errors = DaemonConfig::from_env_map(&EnvMap::default(), false).expect_err("refused");
        let text = errors.to_string();
        assert!(text.contains("JWT_SECRET"), "{text}");
        assert!(text.contains("openssl rand -base64 48"), "{text}");
    }

    #[test]
    fn bad_values_are_all_reported_in_one_go() {
        let env = EnvMap::from_pairs([
            ("JWT_SECRET", "x"),
            ("SERVER_PORT", "eighty"),
            ("LB_STRATEGY", "fastest"),
            ("SESSION_MODE", "cookies"),
            ("GUARDRAILS_MAX_60MIN_RATE", "-5"),
        ]);
        let errors = DaemonConfig::from_env_map(&env, false).expect_err("five problems");
        for name in [
            "JWT_SECRET",
            "SERVER_PORT",
            "LB_STRATEGY",
            "SESSION_MODE",
            "GUARDRAILS_MAX_60MIN_RATE",
        ] {
            assert!(errors.names(name), "{name} not reported in {errors}");
        }
    }
}
