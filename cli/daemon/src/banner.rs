//! What the daemon prints when it is ready.

use std::fmt::Write;

use crate::args::Role;
use crate::config::DaemonConfig;
use crate::fleet::Running;

/// Returns the start-up banner: where each front listens, what backs it, and how to log in.
pub fn banner(running: &Running, config: &DaemonConfig) -> String {
    let mut text = String::new();
    let mode = match running.role {
        Role::All => "every service in this process",
        Role::Auth => "auth service",
        Role::Gateway => "gateway",
        Role::Catalog => "provider catalog",
        Role::Guardrails => "guard rails",
        Role::Reservation => "reservation service",
        Role::Billing => "billing service",
        Role::Webhooks => "webhooks service",
    };
    let _ = writeln!(text, "GPU Proxy {} ({mode})", env!("CARGO_PKG_VERSION"));
    if let Some(addr) = running.http_addr {
        let base = format!("http://{}", local(addr));
        let _ = writeln!(
            text,
            "  REST      {base}/api/v1   docs {base}/openapi.json   health {base}/health   metrics {base}/metrics"
        );
    }
    if let Some(addr) = running.grpc_addr {
        let tls = if running.grpc_tls { "TLS" } else { "plaintext" };
        let _ = writeln!(
            text,
            "  gRPC      {} ({tls}; gpuproxy.v1.GPUProxyService, reflection, grpc.health.v1)",
            local(addr)
        );
    }
    if let Some(addr) = running.auth_grpc_addr {
        let _ = writeln!(text, "  auth gRPC {addr} (gpuproxy.auth.v1.AuthService)");
    }
    if let Some(addr) = running.catalog_grpc_addr {
        let _ = writeln!(text, "  catalog   {addr} (gpuproxy.catalog.v1.CatalogService)");
    }
    if let Some(addr) = running.guardrails_grpc_addr {
        let _ = writeln!(
            text,
            "  guardrails {addr} (gpuproxy.guardrails.v1.GuardrailsService)"
        );
    }
    if let Some(addr) = running.reservation_grpc_addr {
        let _ = writeln!(
            text,
            "  reservation {addr} (gpuproxy.reservation.v1.ReservationService)"
        );
    }
    if let Some(addr) = running.billing_grpc_addr {
        let _ = writeln!(text, "  billing   {addr} (gpuproxy.billing.v1.BillingService)");
    }
    if let Some(addr) = running.webhooks_grpc_addr {
        let _ = writeln!(text, "  webhooks  {addr} (gpuproxy.webhooks.v1.WebhookService)");
    }
    if let Some(addr) = running.metrics_addr {
        let _ = writeln!(text, "  metrics   http://{addr}/metrics");
    }
    if matches!(running.role, Role::All | Role::Catalog) {
        let providers = match &running.simulator_url {
            Some(url) => format!(
                "SIMULATED at {url} (no VASTAI_API_KEY / IONET_API_KEY set; faults: PUT {url}/_sim/faults/vast.ai)"
            ),
            None => {
                let configured: Vec<&str> = [
                    (config.catalog.marketplace.vastai_api_key.is_some(), "vast.ai"),
                    (config.catalog.marketplace.ionet_api_key.is_some(), "io.net"),
                ]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect();
                if configured.is_empty() {
                    "none configured (set VASTAI_API_KEY / IONET_API_KEY)".to_owned()
                } else {
                    configured.join(", ")
                }
            }
        };
        let _ = writeln!(text, "  providers {providers}");
    }
    if matches!(running.role, Role::All | Role::Auth) {
        let _ = writeln!(text, "  database  {}", config.auth.database.describe());
        let sessions = match &config.auth.redis.server {
            Some(server) => format!(
                "{:?} mode, redis {}:{}",
                config.auth.session_mode, server.host, server.port
            ),
            None => format!("{:?} mode, in-memory store", config.auth.session_mode),
        };
        let _ = writeln!(text, "  sessions  {}", sessions.to_lowercase());
    }
    let events = config
        .auth
        .nats
        .url
        .as_deref()
        .map_or("in-process bus".to_owned(), |url| format!("NATS {url}"));
    let _ = writeln!(text, "  events    {events}");
    if let (Some(admin), Some(addr)) = (&running.first_admin, running.http_addr) {
        let _ = writeln!(
            text,
            "\nFirst run: created the admin {} with password {}",
            admin.email, admin.password
        );
        let _ = writeln!(
            text,
            "(shown once; create your own users and API keys, then keep this one safe)\nLog in:"
        );
        let _ = writeln!(
            text,
            "  curl -s -X POST http://{}/api/v1/auth/login -H 'Content-Type: application/json' \\\n       -d '{{\"email\":\"{}\",\"password\":\"{}\"}}'",
            local(addr),
            admin.email,
            admin.password
        );
    }
    text
}

/// Shows a wildcard bind address as localhost, which is what a user on this machine types.
fn local(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("localhost:{}", addr.port())
    } else {
        addr.to_string()
    }
}
