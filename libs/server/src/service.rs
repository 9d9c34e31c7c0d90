//! What a service crate gives the process that hosts it, and the same things with their types erased,
//! so that one process can start any row of the service table.

use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use gpuproxy_config::{InternalServerConfig, Reader, ServiceSpec};
use gpuproxy_db::Migrations;
use gpuproxy_events::EventBus;
use gpuproxy_telemetry::Metrics;

use crate::{GrpcChannel, Peers, ServiceHost, Tasks};

/// What every process gives the services it hosts.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// The process's event bus: NATS in the fleet, in-process when embedded.
    pub bus: EventBus,
    /// The process's metrics registry.
    pub metrics: Metrics,
    /// The other services, to call.
    pub peers: Peers,
}

impl ServiceContext {
    /// Returns a context with `bus`, a fresh metrics registry and no peers, for tests and tools.
    pub fn new(bus: EventBus) -> Self {
        ServiceContext {
            bus,
            metrics: Metrics::new(),
            peers: Peers::new(),
        }
    }

    /// Adds the channel to `service`.
    pub fn with_peer(mut self, service: &'static ServiceSpec, channel: GrpcChannel) -> Self {
        self.peers.insert(service, channel);
        self
    }
}

/// An internal service, as its crate defines it: its row of the service table, how its configuration
/// is read, how it is built and how it runs.
pub trait HostedService: Sized + Send + 'static {
    /// Everything the service reads from the environment.
    type Config: Clone + Debug + Send + Sync + 'static;

    /// Its row of the service table.
    const SPEC: &'static ServiceSpec;

    /// Reads the configuration, recording problems in `reader`.
    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Self::Config;

    /// Returns where the configuration says the service listens.
    fn server_config(config: &mut Self::Config) -> &mut InternalServerConfig;

    /// Connects what the service needs (migrating its schema) and binds its listener.
    fn build(
        config: Self::Config,
        context: ServiceContext,
    ) -> impl Future<Output = anyhow::Result<Self>> + Send;

    /// Returns its gRPC server and listener.
    fn host(&self) -> &ServiceHost;

    /// Starts serving and its background loops under `tasks`.
    fn spawn(self, tasks: &Tasks);

    /// Returns the schemas the service owns, which it applies when built and the admin tool's
    /// `migrate` applies too; none for a service without a database.
    fn migrations() -> Vec<Migrations> {
        Vec::new()
    }

    /// Returns lines for the start-up banner (what backs the service), as label and text.
    fn describe(_config: &Self::Config) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Offers APIs to services in the same process that may call them directly.
    fn offer_direct(&self, _peers: &mut Peers) {}
}

/// One row of a process's registry: a service it can run, with its type erased.
#[derive(Debug, Clone, Copy)]
pub struct ServiceEntry {
    /// Its row of the service table.
    pub spec: &'static ServiceSpec,
    read_config: fn(&mut Reader<'_>, bool) -> ServiceConfig,
    migrations: fn() -> Vec<Migrations>,
}

impl ServiceEntry {
    /// Returns the entry of `S`.
    pub fn of<S: HostedService>() -> Self {
        ServiceEntry {
            spec: S::SPEC,
            read_config: |reader, developer_mode| ServiceConfig {
                inner: Box::new(Configured::<S>(S::read_config(reader, developer_mode))),
            },
            migrations: S::migrations,
        }
    }

    /// Reads the service's configuration.
    pub fn read_config(&self, reader: &mut Reader<'_>, developer_mode: bool) -> ServiceConfig {
        (self.read_config)(reader, developer_mode)
    }

    /// Returns the schemas the service owns.
    pub fn migrations(&self) -> Vec<Migrations> {
        (self.migrations)()
    }
}

/// One service's configuration, whatever its type.
#[derive(Debug)]
pub struct ServiceConfig {
    inner: Box<dyn ErasedConfig>,
}

impl Clone for ServiceConfig {
    fn clone(&self) -> Self {
        ServiceConfig {
            inner: self.inner.clone_box(),
        }
    }
}

impl ServiceConfig {
    /// Returns the service's row of the service table.
    pub fn spec(&self) -> &'static ServiceSpec {
        self.inner.spec()
    }

    /// Returns the configuration as `S` reads it, when it is `S`'s.
    pub fn get<S: HostedService>(&self) -> Option<&S::Config> {
        let configured: &Configured<S> = self.inner.as_any().downcast_ref()?;
        Some(&configured.0)
    }

    /// Returns the configuration as `S` reads it, to change, when it is `S`'s.
    pub fn get_mut<S: HostedService>(&mut self) -> Option<&mut S::Config> {
        let configured: &mut Configured<S> = self.inner.as_any_mut().downcast_mut()?;
        Some(&mut configured.0)
    }

    /// Makes the service reachable in-process only: it binds no port.
    pub fn in_process_only(&mut self) {
        self.inner.server().listen = None;
    }

    /// Returns lines for the start-up banner.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        self.inner.describe()
    }

    /// Builds the service.
    pub async fn build(self, context: ServiceContext) -> anyhow::Result<BuiltService> {
        self.inner.build(context).await
    }
}

/// A built service, whatever its type.
pub struct BuiltService {
    inner: Box<dyn ErasedService>,
}

impl Debug for BuiltService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltService")
            .field("service", &self.spec().name)
            .finish_non_exhaustive()
    }
}

impl BuiltService {
    /// Returns its row of the service table.
    pub fn spec(&self) -> &'static ServiceSpec {
        self.inner.host().spec()
    }

    /// Returns where its internal gRPC API listens, when it listens.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.inner.host().grpc_addr()
    }

    /// Adds a channel to it, and whatever it offers to be called directly, to `peers`.
    pub fn join(&self, peers: &mut Peers) {
        peers.insert(self.spec(), self.inner.host().in_process_channel());
        self.inner.offer_direct(peers);
    }

    /// Starts it under `tasks`.
    pub fn spawn(self, tasks: &Tasks) {
        self.inner.spawn(tasks);
    }
}

type BuildFuture = Pin<Box<dyn Future<Output = anyhow::Result<BuiltService>> + Send>>;

trait ErasedConfig: Debug + Send + Sync + Any {
    fn spec(&self) -> &'static ServiceSpec;
    fn clone_box(&self) -> Box<dyn ErasedConfig>;
    fn server(&mut self) -> &mut InternalServerConfig;
    fn describe(&self) -> Vec<(&'static str, String)>;
    fn build(self: Box<Self>, context: ServiceContext) -> BuildFuture;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// `S`'s configuration, held where its type is erased.
struct Configured<S: HostedService>(S::Config);

impl<S: HostedService> Debug for Configured<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: HostedService> ErasedConfig for Configured<S> {
    fn spec(&self) -> &'static ServiceSpec {
        S::SPEC
    }

    fn clone_box(&self) -> Box<dyn ErasedConfig> {
        Box::new(Configured::<S>(self.0.clone()))
    }

    fn server(&mut self) -> &mut InternalServerConfig {
        S::server_config(&mut self.0)
    }

    fn describe(&self) -> Vec<(&'static str, String)> {
        S::describe(&self.0)
    }

    fn build(self: Box<Self>, context: ServiceContext) -> BuildFuture {
        Box::pin(async move {
            let service = S::build(self.0, context).await?;
            Ok(BuiltService {
                inner: Box::new(service),
            })
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

trait ErasedService: Send {
    fn host(&self) -> &ServiceHost;
    fn offer_direct(&self, peers: &mut Peers);
    fn spawn(self: Box<Self>, tasks: &Tasks);
}

impl<S: HostedService> ErasedService for S {
    fn host(&self) -> &ServiceHost {
        HostedService::host(self)
    }

    fn offer_direct(&self, peers: &mut Peers) {
        HostedService::offer_direct(self, peers);
    }

    fn spawn(self: Box<Self>, tasks: &Tasks) {
        HostedService::spawn(*self, tasks);
    }
}
