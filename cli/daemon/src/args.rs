//! Command-line arguments, including the original product's single-dash flags.

use clap::{Parser, ValueEnum};

/// Which part of the fleet this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Every service in one process (the embedded default).
    All,
    /// The auth service alone (internal gRPC on AUTH_GRPC_PORT).
    Auth,
    /// The gateway alone (REST on SERVER_PORT, public gRPC on GRPC_PORT).
    Gateway,
    /// The provider catalog alone (internal gRPC on CATALOG_GRPC_PORT).
    Catalog,
    /// The guard rails alone (internal gRPC on GUARDRAILS_GRPC_PORT).
    Guardrails,
    /// The reservation service and load balancer alone (internal gRPC on RESERVATION_GRPC_PORT);
    /// finds the catalog at CATALOG_SERVICE_URL.
    Reservation,
    /// The billing service alone (internal gRPC on BILLING_GRPC_PORT).
    Billing,
    /// The webhooks service alone (internal gRPC on WEBHOOKS_GRPC_PORT): subscriptions and delivery.
    Webhooks,
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
    #[arg(long, value_enum, default_value_t = Role::All)]
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
    use gpuproxy_config::normalize_legacy_flags;

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
        assert_eq!(parse(&["--service", "auth"]).service, Role::Auth);
        assert_eq!(parse(&["--service", "catalog"]).service, Role::Catalog);
    }
}
