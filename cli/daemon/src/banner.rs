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
        Role::Gateway => "gateway",
        Role::Service(spec) => spec.title,
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
    for (spec, addr) in &running.internal_addrs {
        let _ = writeln!(text, "  {:<9} {addr} ({})", spec.name, spec.grpc_service);
    }
    if let Some(addr) = running.metrics_addr {
        let _ = writeln!(text, "  metrics   http://{addr}/metrics");
    }
    if let Some(url) = &running.simulator_url {
        let _ = writeln!(
            text,
            "  providers SIMULATED at {url} (no VASTAI_API_KEY / IONET_API_KEY set; faults: PUT {url}/_sim/faults/vast.ai)"
        );
    }
    for (label, description) in &running.descriptions {
        let _ = writeln!(text, "  {label:<9} {description}");
    }
    let events = config
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
