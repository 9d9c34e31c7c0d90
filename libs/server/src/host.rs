//! What every internal service does the same way: serve its gRPC API with health and reflection,
//! report its dependencies' health, and relay its outbox.

use std::net::SocketAddr;
use std::time::Duration;

use gpuproxy_config::{InternalServerConfig, ServiceSpec};
use gpuproxy_db::Database;
use gpuproxy_events::{EventBus, Outbox, RelaySettings};
use gpuproxy_kv::KvStore;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{Every, GrpcChannel, GrpcServer, Health, Tasks};

/// Something a service cannot work without (or, for the bus, reports on), probed for its health.
#[derive(Debug, Clone)]
pub enum Dependency {
    /// Reported as `database`; the service is not serving without it.
    Database(Database),
    /// Reported as `redis` when it is Redis; the service is not serving without it. A memory store
    /// is always there.
    Store(KvStore),
    /// Reported as `nats` when it is NATS. Events wait in the outbox while it is down, so it does not
    /// make the service unready.
    Bus(EventBus),
    /// Reported as `events`: not serving while an event has waited in the outbox longer than
    /// [`STUCK_AFTER`] (the bus is down or its stream unusable). Nothing is lost meanwhile, so it
    /// does not make the service unready either, but an operator must see it.
    Outbox(Outbox),
}

/// How long an event may wait in an outbox before the pipeline counts as stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(30);

/// One internal service's gRPC server and the loops every service runs.
#[derive(Debug)]
pub struct ServiceHost {
    spec: &'static ServiceSpec,
    grpc: GrpcServer,
    server: InternalServerConfig,
    listener: Option<TcpListener>,
    dependencies: Vec<Dependency>,
    health_period: Duration,
    relay: Option<(Outbox, EventBus, RelaySettings)>,
}

impl ServiceHost {
    /// Adds health and reflection to `routes` and requires the fleet's token from callers over the
    /// network. Nothing is bound until [`ServiceHost::bind`].
    pub fn new(
        spec: &'static ServiceSpec,
        routes: Routes,
        server: &InternalServerConfig,
    ) -> anyhow::Result<Self> {
        let grpc = GrpcServer::new(routes, gpuproxy_proto::INTERNAL_FILE_DESCRIPTOR_SET)?
            .with_internal_token(server.internal_token.clone());
        Ok(ServiceHost {
            spec,
            grpc,
            server: server.clone(),
            listener: None,
            dependencies: Vec::new(),
            health_period: Duration::from_secs(30),
            relay: None,
        })
    }

    /// Reports the health of `dependencies` every `period`; with none, the service is always serving.
    pub fn reporting(mut self, dependencies: Vec<Dependency>, period: Duration) -> Self {
        self.dependencies.extend(dependencies);
        self.health_period = period;
        self
    }

    /// Publishes what `outbox` holds to `bus`, looking for rows other processes wrote every
    /// `poll_interval`.
    /// Also reports whether events flow (`events`).
    pub fn relaying(mut self, outbox: Outbox, bus: EventBus, poll_interval: Duration) -> Self {
        let settings = RelaySettings {
            poll_interval,
            ..RelaySettings::default()
        };
        self.dependencies.push(Dependency::Outbox(outbox.clone()));
        self.relay = Some((outbox, bus, settings));
        self
    }

    /// Binds the listener when the configuration names one (refusing an address beyond loopback
    /// without the fleet's token), then reports health once, so that a fresh server is never
    /// reported down to its first caller.
    pub async fn bind(mut self) -> anyhow::Result<Self> {
        self.listener = crate::bind_internal(
            self.spec.name,
            self.server.listen,
            self.server.internal_token.is_some(),
            self.server.developer_mode,
        )
        .await?;
        report(self.spec, &self.grpc.health(), &self.dependencies).await;
        Ok(self)
    }

    /// Returns the service's row of the service table.
    pub fn spec(&self) -> &'static ServiceSpec {
        self.spec
    }

    /// Returns where the internal gRPC API listens, when it listens.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Returns a channel to this service with no socket, for callers in the same process.
    pub fn in_process_channel(&self) -> GrpcChannel {
        self.grpc.in_process_channel()
    }

    /// Serves (when bound), relays the outbox and keeps the health statuses current, under `tasks`.
    pub fn spawn(self, tasks: &Tasks) {
        let ServiceHost {
            spec,
            grpc,
            listener,
            dependencies,
            health_period,
            relay,
            ..
        } = self;
        let health = grpc.health();
        if let Some(listener) = listener {
            tasks.spawn(
                format!("{}-grpc", spec.name),
                grpc.serve(listener, None, tasks.token()),
            );
        }
        if let Some((outbox, bus, settings)) = relay {
            tasks.spawn(
                format!("{}-outbox-relay", spec.name),
                outbox.relay(bus, settings).run(tasks.token()),
            );
        }
        if !dependencies.is_empty() {
            tasks.every(
                format!("{}-health", spec.name),
                Every::period(health_period),
                move || {
                    let (health, dependencies) = (health.clone(), dependencies.clone());
                    async move { report(spec, &health, &dependencies).await }
                },
            );
        }
    }
}

/// Sets each dependency's status and the service's: serving while every required dependency answers.
async fn report(spec: &ServiceSpec, health: &Health, dependencies: &[Dependency]) {
    let mut serving = true;
    for dependency in dependencies {
        match dependency {
            Dependency::Database(database) => {
                let up = database.ping().await;
                health.set("database", up).await;
                serving &= up;
            }
            Dependency::Store(store @ KvStore::Redis(_)) => {
                let up = store.ping().await;
                health.set("redis", up).await;
                serving &= up;
            }
            Dependency::Store(KvStore::Memory(_)) => {}
            Dependency::Bus(bus @ EventBus::Nats(_)) => health.set("nats", bus.is_connected()).await,
            Dependency::Bus(EventBus::InProcess(_)) => {}
            Dependency::Outbox(outbox) => {
                let waited = outbox
                    .oldest_pending_at()
                    .await
                    .map(|oldest| oldest.map_or(0, |at| gpuproxy_domain::now_ms().saturating_sub(at)));
                let stuck_after = i64::try_from(STUCK_AFTER.as_millis()).unwrap_or(i64::MAX);
                health
                    .set("events", waited.is_ok_and(|waited| waited < stuck_after))
                    .await;
            }
        }
    }
    health.set(spec.grpc_service, serving).await;
    health.set("", serving).await;
}
