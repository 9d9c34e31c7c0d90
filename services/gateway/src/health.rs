//! The health of the gateway's dependencies, for `/health` and the gRPC `HealthCheck`.

use std::collections::BTreeMap;
use std::time::Duration;

use gpuproxy_config::ServiceSpec;
use gpuproxy_events::EventBus;
use gpuproxy_kv::KvStore;
use gpuproxy_proto::gpuproxy::catalog::v1::catalog_service_client::CatalogServiceClient;
use gpuproxy_proto::gpuproxy::catalog::v1::{ProviderHealth, ProviderStatusRequest};
use gpuproxy_server::GrpcChannel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// How long one dependency may take to answer a health probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The state of one dependency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyStatus {
    /// Reachable and working.
    Healthy,
    /// Unreachable or failing.
    Unhealthy,
    /// Replaced by a process-local stand-in (embedded mode: memory store, in-process bus).
    InProcess,
}

impl DependencyStatus {
    /// Returns the status as shown in `/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            DependencyStatus::Healthy => "healthy",
            DependencyStatus::Unhealthy => "unhealthy",
            DependencyStatus::InProcess => "in_process",
        }
    }

    fn from_ok(ok: bool) -> Self {
        if ok {
            DependencyStatus::Healthy
        } else {
            DependencyStatus::Unhealthy
        }
    }
}

/// The overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverallStatus {
    /// Everything works.
    Ok,
    /// Serving, but an optional dependency is down: events are delayed (NATS) or rate limits are
    /// not enforced (Redis).
    Degraded,
    /// A service or the database is down: requests will fail.
    Down,
}

impl OverallStatus {
    /// Returns the status as shown in `/health`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverallStatus::Ok => "ok",
            OverallStatus::Degraded => "degraded",
            OverallStatus::Down => "down",
        }
    }
}

/// The outcome of one round of probes.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthReport {
    /// The overall state.
    pub status: OverallStatus,
    /// Each dependency by name: `database`, `redis`, `nats`, and one entry per service.
    pub dependencies: BTreeMap<String, DependencyStatus>,
    /// Each GPU provider as the catalog sees it; empty when the catalog cannot be reached.
    pub providers: Vec<ProviderHealth>,
    /// What keeps the report from `ok`, one line each, for an operator (a stuck event pipeline
    /// and why, say); empty when nothing does.
    pub problems: Vec<String>,
}

/// An internal service the gateway depends on, probed through the standard gRPC health service.
#[derive(Debug, Clone)]
pub struct ServiceProbe {
    /// Its row of the service table: its name in reports and its gRPC name.
    pub spec: &'static ServiceSpec,
    /// A channel to the service.
    pub channel: GrpcChannel,
}

/// Probes the gateway's dependencies on demand.
#[derive(Debug, Clone)]
pub struct HealthChecker {
    kv: KvStore,
    bus: EventBus,
    services: Vec<ServiceProbe>,
    catalog: CatalogServiceClient<GrpcChannel>,
}

impl HealthChecker {
    /// Returns a checker of `kv`, `bus`, `services` and the providers behind `catalog`.
    pub fn new(
        kv: KvStore,
        bus: EventBus,
        services: Vec<ServiceProbe>,
        catalog: CatalogServiceClient<GrpcChannel>,
    ) -> Self {
        HealthChecker {
            kv,
            bus,
            services,
            catalog,
        }
    }

    /// Returns each provider's state, or nothing when the catalog does not answer.
    pub async fn providers(&self) -> Vec<ProviderHealth> {
        let mut catalog = self.catalog.clone();
        match timed(catalog.provider_status(ProviderStatusRequest {})).await {
            Some(Ok(response)) => response.into_inner().providers,
            _ => Vec::new(),
        }
    }

    /// Whether the internal service of `spec` reports itself serving (its own gRPC health).
    pub async fn serving(&self, spec: &gpuproxy_config::ServiceSpec) -> bool {
        match self.services.iter().find(|probe| probe.spec == spec) {
            Some(probe) => probe_service(probe).await.0,
            None => false,
        }
    }

    /// Probes every dependency concurrently. The database is reported by the services that use it.
    pub async fn check(&self) -> HealthReport {
        let (services, providers) = futures::future::join(
            futures::future::join_all(self.services.iter().map(probe_service)),
            self.providers(),
        )
        .await;
        let mut dependencies = BTreeMap::new();
        let mut problems = Vec::new();
        let mut database = None::<bool>;
        let mut critical_down = false;
        for (probe, (serving, database_ok, events_ok)) in self.services.iter().zip(services) {
            dependencies.insert(probe.spec.name.to_owned(), DependencyStatus::from_ok(serving));
            critical_down |= !serving;
            if let Some(ok) = database_ok {
                database = Some(database.unwrap_or(true) && ok);
            }
            if events_ok == Some(false) {
                problems.push(format!(
                    "events of the {} have waited in its outbox for over {}s",
                    probe.spec.title,
                    gpuproxy_server::STUCK_AFTER.as_secs()
                ));
            }
        }
        let database = DependencyStatus::from_ok(database.unwrap_or(false));
        critical_down |= database == DependencyStatus::Unhealthy;
        dependencies.insert("database".to_owned(), database);

        let redis = match self.kv {
            KvStore::Redis(_) => DependencyStatus::from_ok(timed(self.kv.ping()).await.unwrap_or(false)),
            KvStore::Memory(_) => DependencyStatus::InProcess,
        };
        let nats = match self.bus {
            EventBus::Nats(_) => DependencyStatus::from_ok(self.bus.is_connected()),
            EventBus::InProcess(_) => DependencyStatus::InProcess,
        };
        dependencies.insert("redis".to_owned(), redis);
        dependencies.insert("nats".to_owned(), nats);
        // The stream's own problem is the reason the outboxes fill up, when it is the reason.
        if nats == DependencyStatus::Healthy
            && let Some(problem) = self.bus.stream_problem().await
        {
            problems.insert(0, problem);
        }
        let events = match self.bus {
            EventBus::InProcess(_) if problems.is_empty() => DependencyStatus::InProcess,
            _ => DependencyStatus::from_ok(problems.is_empty() && nats == DependencyStatus::Healthy),
        };
        dependencies.insert("events".to_owned(), events);

        // A failing provider degrades the service (its offers are missing) but does not take it down.
        let provider_failing = providers
            .iter()
            .any(|provider| provider.enabled && provider.state != "ok");
        let status = if critical_down {
            OverallStatus::Down
        } else if redis == DependencyStatus::Unhealthy
            || nats == DependencyStatus::Unhealthy
            || events == DependencyStatus::Unhealthy
            || provider_failing
        {
            OverallStatus::Degraded
        } else {
            OverallStatus::Ok
        };
        HealthReport {
            status,
            dependencies,
            providers,
            problems,
        }
    }
}

/// Returns whether the service serves, whether its database works and whether its events flow
/// (each when it reports one).
async fn probe_service(probe: &ServiceProbe) -> (bool, Option<bool>, Option<bool>) {
    let client = HealthClient::new(probe.channel.clone());
    let (serving, database, events) = futures::future::join3(
        check(client.clone(), probe.spec.grpc_service),
        check(client.clone(), "database"),
        check(client, "events"),
    )
    .await;
    (serving == Some(true), database, events)
}

/// Returns `Some(serving)` for a known service name, `None` when the service does not report it
/// or cannot be reached.
async fn check(mut client: HealthClient<GrpcChannel>, service: &str) -> Option<bool> {
    let request = HealthCheckRequest {
        service: service.to_owned(),
    };
    let response = timed(client.check(request)).await?.ok()?;
    Some(response.into_inner().status() == ServingStatus::Serving)
}

async fn timed<T>(future: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(PROBE_TIMEOUT, future).await.ok()
}
