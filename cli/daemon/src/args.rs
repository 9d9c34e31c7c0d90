//! Command-line arguments, including the original product's single-dash flags.

use std::sync::LazyLock;

use clap::builder::PossibleValue;
use clap::{Parser, ValueEnum};
use gpuproxy_config::{SERVICES, ServiceSpec};

/// Which part of the fleet this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every service in one process (the embedded default).
    All,
    /// The gateway alone (REST on SERVER_PORT, public gRPC on GRPC_PORT).
    Gateway,
    /// One internal service alone, on its port of the service table; it finds the others at their
    /// `<NAME>_SERVICE_URL`.
    Service(&'static ServiceSpec),
}

impl Role {
    /// Returns the name `--service` takes.
    pub fn name(self) -> &'static str {
        match self {
            Role::All => "all",
            Role::Gateway => "gateway",
            Role::Service(spec) => spec.name,
        }
    }

    /// Returns whether this process runs `spec`.
    pub fn runs(self, spec: &ServiceSpec) -> bool {
        match self {
            Role::All => true,
            Role::Gateway => false,
            Role::Service(running) => running == spec,
        }
    }
}

/// Every role, for the command line: the two of the daemon, then one per row of the service table.
static ROLES: LazyLock<Vec<Role>> = LazyLock::new(|| {
    [Role::All, Role::Gateway]
        .into_iter()
        .chain(SERVICES.into_iter().map(Role::Service))
        .collect()
});

impl ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        ROLES.as_slice()
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let help = match self {
            Role::All => "every service in one process (the embedded default)".to_owned(),
            Role::Gateway => "the gateway alone (REST on SERVER_PORT, public gRPC on GRPC_PORT)".to_owned(),
            Role::Service(spec) => format!(
                "the {} alone (internal gRPC on {})",
                spec.title, spec.port_variable
            ),
        };
        Some(PossibleValue::new(self.name()).help(help))
    }
}

/// aiserve-gpuproxyd: the GPU Proxy server.
///
/// With no configuration it runs every service in this process, with SQLite under ./data, in-memory
/// stores and an in-process event bus. In the fleet, each process runs one service (`--service`),
/// configured by environment variables (see .env.example).
#[derive(Debug, Parser)]
#[command(name = "aiserve-gpuproxyd", version)]
pub struct Args {
    /// Which service(s) to run.
    #[arg(long, value_enum, default_value = "all")]
    pub service: Role,
    /// Developer mode (-dv): tolerate a missing JWT_SECRET (a random one is used) and an internal API
    /// beyond loopback without INTERNAL_API_TOKEN.
    #[arg(long = "developer-mode")]
    pub developer_mode: bool,
    /// Debug mode (-dm): debug-level logs.
    #[arg(long = "debug-mode")]
    pub debug_mode: bool,
}

impl Args {
    /// Parses the process's arguments.
    pub fn from_process() -> Self {
        Args::parse_from(gpuproxy_config::process_args())
    }
}

#[cfg(test)]
mod tests {
    use gpuproxy_config::{AUTH, CATALOG, normalize_legacy_flags};

    use super::*;

    fn parse(args: &[&str]) -> Args {
        let args = std::iter::once("aiserve-gpuproxyd")
            .chain(args.iter().copied())
            .map(str::to_owned);
        Args::try_parse_from(normalize_legacy_flags(args)).expect("valid arguments")
    }

    #[test]
    fn the_seed_flags_work_alone_and_together() {
        assert!(parse(&["-dv"]).developer_mode);
        assert!(parse(&["-dm"]).debug_mode);
        let both = parse(&["-dv", "-dm"]);
        assert!(both.developer_mode && both.debug_mode);
        assert!(parse(&["--developer-mode"]).developer_mode);
    }

    #[test]
    fn the_default_is_every_service_in_one_process() {
        assert_eq!(parse(&[]).service, Role::All);
        assert_eq!(parse(&["--service", "auth"]).service, Role::Service(&AUTH));
        assert_eq!(parse(&["--service", "catalog"]).service, Role::Service(&CATALOG));
    }

    #[test]
    fn every_row_of_the_service_table_is_a_role() {
        for spec in SERVICES {
            assert_eq!(parse(&["--service", spec.name]).service, Role::Service(spec));
        }
        assert_eq!(parse(&["--service", "gateway"]).service, Role::Gateway);
        let unknown = ["aiserve-gpuproxyd", "--service", "nope"].map(str::to_owned);
        assert!(Args::try_parse_from(unknown).is_err());
    }
}
