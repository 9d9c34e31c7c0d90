//! Serving gRPC with health and reflection.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::{Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use gpuproxy_config::SecretString;

use crate::{GrpcChannel, RequireTokenLayer, in_process};

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

/// A service's gRPC routes with the health and reflection services added. It can be served on a
/// listener (the fleet) or called through an in-process channel (embedded), with the same routes.
#[derive(Clone)]
pub struct GrpcServer {
    routes: Routes,
    health: Health,
    internal_token: Option<SecretString>,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer").finish_non_exhaustive()
    }
}

impl GrpcServer {
    /// Adds the health service and reflection over `descriptor_set` (one of the sets in
    /// `gpuproxy-proto`) to `routes`.
    pub fn new(routes: Routes, descriptor_set: &[u8]) -> anyhow::Result<Self> {
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
            routes,
            health: Health { reporter },
            internal_token: None,
        })
    }

    /// Requires callers over the network to send the fleet's `token` (see [`RequireTokenLayer`]);
    /// in-process callers are in the same trust domain and skip it.
    pub fn with_internal_token(mut self, token: Option<SecretString>) -> Self {
        self.internal_token = token;
        self
    }

    /// Returns the health handle, to report dependency status while serving.
    pub fn health(&self) -> Health {
        self.health.clone()
    }

    /// Returns a channel that calls these routes in-process, with no socket.
    pub fn in_process_channel(&self) -> GrpcChannel {
        in_process(self.routes.clone())
    }

    /// Serves on `listener` (over TLS when `tls` is set) until `shutdown` is cancelled, then lets
    /// in-flight calls finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        tls: Option<ServerTlsConfig>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let mut builder = Server::builder().tcp_nodelay(true);
        if let Some(tls) = tls {
            builder = builder.tls_config(tls)?;
        }
        builder
            .layer(RequireTokenLayer::new(self.internal_token))
            .add_routes(self.routes)
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled_owned())
            .await?;
        Ok(())
    }
}

/// Binds `addr` (port 0 picks a free port), naming the address in the error.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| anyhow::anyhow!("binding {addr}: {error}"))
}
