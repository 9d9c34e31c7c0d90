//! Building and running the auth service.

use std::net::SocketAddr;

use gpuproxy_db::Database;
use gpuproxy_events::{Delivery, EventBus, RelaySettings};
use gpuproxy_kv::KvStore;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_server::AuthServiceServer;
use gpuproxy_server::{GrpcChannel, GrpcServer, Health, Tasks};
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::config::{Config, SessionMode};
use crate::grpc::GrpcAuth;
use crate::service::AuthService;

/// The gRPC service name, as health checks and reflection know it.
pub const SERVICE_NAME: &str = "gpuproxy.auth.v1.AuthService";

/// Returns the auth service's migrations.
pub fn migrations() -> gpuproxy_db::Migrations {
    gpuproxy_db::Migrations::new("_auth_migrations", sqlx::migrate!("../../migrations/auth"))
}

/// The auth service, built and ready to run: database migrated, stores connected, listener bound.
#[derive(Debug)]
pub struct App {
    service: AuthService,
    grpc: GrpcServer,
    listener: Option<TcpListener>,
    probe: Probe,
    bus: EventBus,
    config: Config,
}

impl App {
    /// Connects to the database (migrating it), the session store and the bus; creates the
    /// bootstrap admin when configured; binds the gRPC listener when `config.grpc_listen` is set.
    pub async fn build(config: Config, bus: EventBus) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database).await?;
        migrations().run(&database).await?;
        gpuproxy_events::migrations().run(&database).await?;
        let kv = match config.session_mode {
            SessionMode::Sql => KvStore::memory(),
            SessionMode::Redis | SessionMode::Balanced => KvStore::connect(&config.redis).await?,
        };
        let service = AuthService::new(&config, database, kv.clone());
        if let Some(admin) = &config.bootstrap_admin {
            use gpuproxy_config::ExposeSecret;
            let (user, created) = service
                .ensure_admin(&admin.email, admin.password.expose_secret())
                .await?;
            tracing::info!(email = %user.email, created, "bootstrap admin is in place");
        }
        if config.jwt.generated {
            tracing::warn!(
                "JWT_SECRET is not set: developer mode signs tokens with a random key that dies with the process"
            );
        }
        let routes = Routes::new(AuthServiceServer::new(GrpcAuth::new(service.clone())));
        let grpc = GrpcServer::new(routes, gpuproxy_proto::INTERNAL_FILE_DESCRIPTOR_SET)?
            .with_internal_token(config.internal_token.clone());
        let listener = gpuproxy_server::bind_internal(
            "auth",
            config.grpc_listen,
            config.internal_token.is_some(),
            config.developer_mode,
        )
        .await?;
        let probe = Probe {
            service: service.clone(),
            kv,
            bus: bus.clone(),
            health: grpc.health(),
            period: config.database.health_check_period,
        };
        // Health is known before the first caller can ask, so a fresh server is never reported down.
        probe.report().await;
        Ok(App {
            service,
            grpc,
            listener,
            probe,
            bus,
            config,
        })
    }

    /// Returns where the internal gRPC API listens, when it listens.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
    }

    /// Returns the use cases, for the admin CLI and tests.
    pub fn service(&self) -> &AuthService {
        &self.service
    }

    /// Returns a channel to this service with no socket, for a gateway in the same process.
    pub fn in_process_channel(&self) -> GrpcChannel {
        self.grpc.in_process_channel()
    }

    /// Starts serving (when bound), relaying events, probing dependencies and deleting expired
    /// sessions, all under `tasks`.
    pub fn spawn(self, tasks: &Tasks) {
        let App {
            service,
            grpc,
            listener,
            probe,
            bus,
            config,
        } = self;
        if let Some(listener) = listener {
            tasks.spawn("auth-grpc", grpc.serve(listener, None, tasks.token()));
        }
        let relay_settings = RelaySettings {
            poll_interval: config.outbox_poll_interval,
            ..RelaySettings::default()
        };
        tasks.spawn(
            "auth-outbox-relay",
            service
                .outbox()
                .relay(bus.clone(), relay_settings)
                .run(tasks.token()),
        );
        tasks.spawn("auth-health", probe.run(tasks.token()));
        tasks.spawn(
            "auth-session-revocations",
            bury_revoked_sessions(service, bus, tasks.token()),
        );
    }
}

/// Marks sessions that other replicas ended in this replica's session cache. With Redis the
/// tombstone is already there (this rewrites it); with a per-process memory cache it is how a logout
/// on one replica reaches the others.
async fn bury_revoked_sessions(
    service: AuthService,
    bus: EventBus,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let mut subscription = bus
        .subscribe(gpuproxy_events::names::AUTH_SESSION_REVOKED)
        .await?;
    loop {
        let delivery = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            delivery = subscription.next() => delivery,
        };
        match delivery {
            Some(Delivery::Event(event)) => {
                let session_id = event
                    .data
                    .get("session_id")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default();
                if let Err(error) = service.bury_session(session_id).await {
                    tracing::warn!(%error, session_id, "marking a revoked session failed");
                }
            }
            Some(Delivery::Missed) => tracing::warn!("session revocations may have been missed"),
            None => anyhow::bail!("the event bus closed the subscription to session revocations"),
        }
    }
}

/// Keeps the health statuses current and the sessions table small.
#[derive(Debug)]
struct Probe {
    service: AuthService,
    kv: KvStore,
    bus: EventBus,
    health: Health,
    period: std::time::Duration,
}

impl Probe {
    async fn run(self, shutdown: tokio_util::sync::CancellationToken) -> anyhow::Result<()> {
        let mut ticks = 0u64;
        loop {
            // Roughly hourly at the default period.
            if ticks.is_multiple_of(120) {
                match self.service.delete_expired_sessions().await {
                    Ok(0) => {}
                    Ok(deleted) => tracing::info!(deleted, "expired sessions deleted"),
                    Err(error) => tracing::warn!(%error, "deleting expired sessions failed"),
                }
            }
            ticks = ticks.wrapping_add(1);
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(self.period) => {}
            }
            self.report().await;
        }
    }

    async fn report(&self) {
        let database = self.service.database().ping().await;
        let kv = self.kv.ping().await;
        let nats = self.bus.is_connected();
        self.health.set("database", database).await;
        if let KvStore::Redis(_) = self.kv {
            self.health.set("redis", kv).await;
        }
        if let EventBus::Nats(_) = self.bus {
            self.health.set("nats", nats).await;
        }
        // Events wait in the outbox while NATS is down, so NATS does not make the service unready.
        let serving = database && kv;
        self.health.set(SERVICE_NAME, serving).await;
        self.health.set("", serving).await;
    }
}
