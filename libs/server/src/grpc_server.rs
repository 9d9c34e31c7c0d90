//! Serving gRPC with health and reflection.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::{Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

/// The standard gRPC health service of a server, whose statuses a service updates as its
/// dependencies come and go. Kubernetes gRPC probes and the gateway's `/health` read it.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").finish_non_exhaustive()
    }
}

impl Health {
    /// Marks `service` (a full gRPC service name, a dependency name such as `database`, or `""` for
    /// the whole server) as serving or not.
    pub async fn set(&self, service: &str, serving: bool) {
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status(service, status).await;
    }
}

/// A gRPC server bound to a listener, with health and reflection, stopped by a token.
pub struct GrpcServer {
    listener: TcpListener,
    routes: Routes,
    health: Health,
    tls: Option<ServerTlsConfig>,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("listener", &self.listener)
            .finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// Prepares a server on `listener` for `routes`, adding the health service and reflection over
    /// `descriptor_set` (one of the sets in `gpuproxy-proto`).
    pub fn new(listener: TcpListener, routes: Routes, descriptor_set: &[u8]) -> anyhow::Result<Self> {
        let (reporter, health_service) = tonic_health::server::health_reporter();
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .build_v1()?;
        let reflection_alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(descriptor_set)
            .build_v1alpha()?;
        let routes = routes
            .add_service(health_service)
            .add_service(reflection)
            .add_service(reflection_alpha);
        Ok(GrpcServer {
            listener,
            routes,
            health: Health { reporter },
            tls: None,
        })
    }

    /// Serves over TLS with this configuration.
    pub fn with_tls(mut self, tls: ServerTlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Returns the health handle, to report dependency status while serving.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Returns the address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled, then lets in-flight calls finish.
    pub async fn serve(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut builder = Server::builder().tcp_nodelay(true);
        if let Some(tls) = self.tls {
            builder = builder.tls_config(tls)?;
        }
        let incoming = TcpListenerStream::new(self.listener);
        builder
            .add_routes(self.routes)
            .serve_with_incoming_shutdown(incoming, shutdown.cancelled_owned())
            .await?;
        Ok(())
    }
}
