//! The daemon's configuration: every service's, read from one environment.

use std::net::IpAddr;
use std::time::Duration;

use gpuproxy_config::{ConfigErrors, EnvMap, NatsConfig, PeersConfig, Reader, ServiceSpec, TelemetryConfig};
use gpuproxy_server::{HostedService, ServiceConfig};

use crate::simulator::SimulatorSettings;

/// Everything the daemon reads from the environment and `.env`.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Logs, traces, metrics.
    pub telemetry: TelemetryConfig,
    /// The gateway.
    pub gateway: gpuproxy_gateway::Config,
    /// Each internal service's, in the order of the service table.
    pub services: Vec<ServiceConfig>,
    /// Where events go (`NATS_*`): one bus for every service of the process.
    pub nats: NatsConfig,
    /// Where the other services are (`<NAME>_SERVICE_URL`, `INTERNAL_API_TOKEN`).
    pub peers: PeersConfig,
    /// `INTERNAL_HOST`: internal services and a single service's `/metrics` listen there.
    pub internal_host: IpAddr,
    /// `PROVIDER_SIM*`: the provider simulator.
    pub simulator: SimulatorSettings,
    /// `SHUTDOWN_TIMEOUT`: how long in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    /// `METRICS_PORT`: where a single internal service (`--service auth|catalog|…`) serves `/metrics`
    /// on `INTERNAL_HOST`; unset, it serves none (the gateway always serves its own).
    pub metrics_port: Option<u16>,
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
            gateway: gpuproxy_gateway::Config::read(reader),
            services: crate::registry()
                .iter()
                .map(|entry| entry.read_config(reader, developer_mode))
                .collect(),
            nats: NatsConfig::read(reader),
            peers: PeersConfig::read(reader),
            internal_host: gpuproxy_config::read_internal_host(reader),
            simulator: SimulatorSettings::read(reader),
            shutdown_timeout: reader.duration("SHUTDOWN_TIMEOUT", Duration::from_secs(30)),
            metrics_port: reader.optional_parse("METRICS_PORT"),
        }
    }

    /// Returns the configuration of the service in `spec`'s row of the table.
    pub fn service(&self, spec: &ServiceSpec) -> Option<&ServiceConfig> {
        self.services.iter().find(|config| config.spec() == spec)
    }

    /// Returns `S`'s configuration, as `S` reads it.
    pub fn service_config<S: HostedService>(&self) -> Option<&S::Config> {
        self.service(S::SPEC)?.get::<S>()
    }

    /// Returns `S`'s configuration, as `S` reads it, to change.
    pub fn service_config_mut<S: HostedService>(&mut self) -> Option<&mut S::Config> {
        self.services
            .iter_mut()
            .find(|config| config.spec() == S::SPEC)?
            .get_mut::<S>()
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
        let auth = |config: &DaemonConfig| {
            config
                .service_config::<gpuproxy_auth::App>()
                .cloned()
                .expect("auth's configuration")
        };
        let (auth_example, auth_nothing) = (auth(&from_example), auth(&from_nothing));
        assert_eq!(auth_example.session_mode, auth_nothing.session_mode);
        assert_eq!(auth_example.database.describe(), auth_nothing.database.describe());
        assert_eq!(auth_example.jwt.expiration, auth_nothing.jwt.expiration);
        assert_eq!(
            format!("{:?}", from_example.telemetry),
            format!("{:?}", from_nothing.telemetry)
        );
        assert_eq!(
            format!("{:?}", from_example.simulator),
            format!("{:?}", from_nothing.simulator)
        );
        assert_eq!(
            format!("{:?}", from_example.peers),
            format!("{:?}", from_nothing.peers)
        );
        // Auth's configuration holds a generated JWT secret, different at every read.
        for (example, nothing) in from_example.services.iter().zip(&from_nothing.services) {
            if example.spec() != &gpuproxy_config::AUTH {
                assert_eq!(
                    format!("{example:?}"),
                    format!("{nothing:?}"),
                    "{}",
                    example.spec().name
                );
            }
        }
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
    fn by_default_the_simulator_stands_in_only_when_no_provider_has_a_key() {
        let config = DaemonConfig::from_env_map(&EnvMap::default(), true).expect("valid");
        assert_eq!(config.simulator.mode, crate::simulator::SimulatorMode::Auto);
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
            ("PROVIDER_SIMULATOR", "maybe"),
        ]);
        let errors = DaemonConfig::from_env_map(&env, false).expect_err("six problems");
        for name in [
            "JWT_SECRET",
            "SERVER_PORT",
            "LB_STRATEGY",
            "SESSION_MODE",
            "PROVIDER_SIMULATOR",
            "GUARDRAILS_MAX_60MIN_RATE",
        ] {
            assert!(errors.names(name), "{name} not reported in {errors}");
        }
    }
}
