//! The service table: every internal service of the fleet, once.
//!
//! The daemon starts services from it, the gateway finds and probes them with it, and the fleet test
//! harness wires them with it. Adding a service is one row here (and its crate in the daemon's
//! registry).

/// One internal service: what it is called, where it listens and where its clients find it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ServiceSpec {
    /// The name used on the command line (`--service <name>`), in task names and in `/health`.
    pub name: &'static str,
    /// The full gRPC service name, as health checks and reflection know it.
    pub grpc_service: &'static str,
    /// What the start-up banner calls it.
    pub title: &'static str,
    /// The variable that sets its internal gRPC port (on `INTERNAL_HOST`).
    pub port_variable: &'static str,
    /// The port it listens on when that variable is not set: below Linux's ephemeral range
    /// (32768-60999), which outgoing connections take ports from.
    pub default_port: u16,
    /// The variable that tells other processes of the fleet where it is (`http://host:port`).
    pub url_variable: &'static str,
}

impl ServiceSpec {
    /// Returns where clients find it when its URL variable is not set: its default port on loopback.
    pub fn default_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.default_port)
    }
}

/// Users, sessions and API keys.
pub const AUTH: ServiceSpec = ServiceSpec {
    name: "auth",
    grpc_service: "gpuproxy.auth.v1.AuthService",
    title: "auth service",
    port_variable: "AUTH_GRPC_PORT",
    default_port: 9401,
    url_variable: "AUTH_SERVICE_URL",
};

/// The provider catalog: offers, provider instances and provider health.
pub const CATALOG: ServiceSpec = ServiceSpec {
    name: "catalog",
    grpc_service: "gpuproxy.catalog.v1.CatalogService",
    title: "provider catalog",
    port_variable: "CATALOG_GRPC_PORT",
    default_port: 9402,
    url_variable: "CATALOG_SERVICE_URL",
};

/// Spending windows and per-user limits.
pub const GUARDRAILS: ServiceSpec = ServiceSpec {
    name: "guardrails",
    grpc_service: "gpuproxy.guardrails.v1.GuardrailsService",
    title: "guard rails",
    port_variable: "GUARDRAILS_GRPC_PORT",
    default_port: 9404,
    url_variable: "GUARDRAILS_SERVICE_URL",
};

/// Credits, payments and usage.
pub const BILLING: ServiceSpec = ServiceSpec {
    name: "billing",
    grpc_service: "gpuproxy.billing.v1.BillingService",
    title: "billing service",
    port_variable: "BILLING_GRPC_PORT",
    default_port: 9405,
    url_variable: "BILLING_SERVICE_URL",
};

/// Webhook subscriptions and their deliveries.
pub const WEBHOOKS: ServiceSpec = ServiceSpec {
    name: "webhooks",
    grpc_service: "gpuproxy.webhooks.v1.WebhookService",
    title: "webhooks service",
    port_variable: "WEBHOOKS_GRPC_PORT",
    default_port: 9406,
    url_variable: "WEBHOOKS_SERVICE_URL",
};

/// Reservations, instances and the load balancer.
pub const RESERVATION: ServiceSpec = ServiceSpec {
    name: "reservation",
    grpc_service: "gpuproxy.reservation.v1.ReservationService",
    title: "reservation service",
    port_variable: "RESERVATION_GRPC_PORT",
    default_port: 9403,
    url_variable: "RESERVATION_SERVICE_URL",
};

/// The action catalog that every agent front (MCP, A2A, …) runs actions through.
pub const AGENTS: ServiceSpec = ServiceSpec {
    name: "agents",
    grpc_service: "gpuproxy.agents.v1.AgentsService",
    title: "agents service",
    port_variable: "AGENTS_GRPC_PORT",
    default_port: 9407,
    url_variable: "AGENTS_SERVICE_URL",
};

/// Users' models, their artifacts in object storage, and serving them.
pub const INFERENCE: ServiceSpec = ServiceSpec {
    name: "inference",
    grpc_service: "gpuproxy.inference.v1.InferenceService",
    title: "inference service",
    port_variable: "INFERENCE_GRPC_PORT",
    default_port: 9408,
    url_variable: "INFERENCE_SERVICE_URL",
};

/// Every internal service, each after the services it calls: the order one process builds them in.
pub const SERVICES: [&ServiceSpec; 8] = [
    &AUTH,
    &CATALOG,
    &GUARDRAILS,
    &BILLING,
    &WEBHOOKS,
    &RESERVATION,
    &AGENTS,
    &INFERENCE,
];

/// Returns the service called `name`.
pub fn service_named(name: &str) -> Option<&'static ServiceSpec> {
    SERVICES.into_iter().find(|spec| spec.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn names_ports_and_variables_are_unique() {
        let names: BTreeSet<_> = SERVICES.iter().map(|spec| spec.name).collect();
        let ports: BTreeSet<_> = SERVICES.iter().map(|spec| spec.default_port).collect();
        let variables: BTreeSet<_> = SERVICES
            .iter()
            .flat_map(|spec| [spec.port_variable, spec.url_variable])
            .collect();
        assert_eq!(names.len(), SERVICES.len());
        assert_eq!(ports.len(), SERVICES.len());
        assert_eq!(variables.len(), 2 * SERVICES.len());
        assert!(
            !names.contains("all") && !names.contains("gateway"),
            "reserved role names"
        );
    }

    #[test]
    fn default_ports_lie_outside_the_ephemeral_range() {
        // Linux hands out 32768-60999 to outgoing connections: a default in it can be held by one
        // (in TIME_WAIT) when the service starts, and the bind fails now and then.
        for spec in SERVICES {
            assert!(
                !(32_768..=60_999).contains(&spec.default_port),
                "{} defaults to {}, inside the ephemeral range",
                spec.name,
                spec.default_port
            );
        }
    }

    #[test]
    fn services_are_found_by_name() {
        assert_eq!(service_named("billing"), Some(&BILLING));
        assert_eq!(service_named("nope"), None);
    }
}
