//! Building and running the auth service.

use std::time::Duration;

use gpuproxy_config::{AUTH, InternalServerConfig, Reader, ServiceSpec};
use gpuproxy_db::{Database, Migrations};
use gpuproxy_events::{Delivery, EventBus};
use gpuproxy_kv::KvStore;
use gpuproxy_proto::gpuproxy::auth::v1::auth_service_server::AuthServiceServer;
use gpuproxy_proto::gpuproxy::events::v1::SessionRevoked;
use gpuproxy_server::{Dependency, Every, HostedService, ServiceContext, ServiceHost, Tasks};
use tonic::service::Routes;

use crate::config::{Config, SessionMode};
use crate::grpc::GrpcAuth;
use crate::service::AuthService;

/// How often expired sessions are deleted.
const SESSION_SWEEP: Duration = Duration::from_secs(3600);

/// The auth service, built and ready to run: database migrated, stores connected, listener bound.
#[derive(Debug)]
pub struct App {
    service: AuthService,
    host: ServiceHost,
    bus: EventBus,
}

impl App {
    /// Returns the use cases, for the admin CLI and tests.
    pub fn service(&self) -> &AuthService {
        &self.service
    }
}

impl HostedService for App {
    type Config = Config;

    const SPEC: &'static ServiceSpec = &AUTH;

    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Config {
        Config::read(reader, developer_mode)
    }

    fn server_config(config: &mut Config) -> &mut InternalServerConfig {
        &mut config.server
    }

    /// Connects to the database (migrating it), the session store and the bus; creates the
    /// bootstrap admin when configured; binds the gRPC listener when the configuration names one.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database).await?;
        database.migrate(Self::migrations()).await?;
        let kv = match config.session_mode {
            SessionMode::Sql => KvStore::memory(),
            SessionMode::Redis | SessionMode::Balanced => KvStore::connect(&config.redis).await?,
        };
        let service = AuthService::new(&config, database.clone(), kv.clone());
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
        let host = ServiceHost::new(&AUTH, routes, &config.server)?
            .reporting(
                vec![
                    Dependency::Database(database),
                    Dependency::Store(kv),
                    Dependency::Bus(context.bus.clone()),
                ],
                config.database.health_check_period,
            )
            .relaying(
                service.outbox().clone(),
                context.bus.clone(),
                config.outbox_poll_interval,
            )
            .bind()
            .await?;
        Ok(App {
            service,
            host,
            bus: context.bus,
        })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Starts serving, relaying events, probing dependencies, deleting expired sessions and
    /// following revocations from other replicas.
    fn spawn(self, tasks: &Tasks) {
        let App { service, host, bus } = self;
        host.spawn(tasks);
        let sweeper = service.clone();
        tasks.every(
            "auth-expired-sessions",
            Every::period(SESSION_SWEEP).at_once(),
            move || {
                let sweeper = sweeper.clone();
                async move {
                    match sweeper.delete_expired_sessions().await {
                        Ok(0) => {}
                        Ok(deleted) => tracing::info!(deleted, "expired sessions deleted"),
                        Err(error) => tracing::warn!(%error, "deleting expired sessions failed"),
                    }
                }
            },
        );
        tasks.spawn(
            "auth-session-revocations",
            bury_revoked_sessions(service, bus, tasks.token()),
        );
    }

    fn migrations() -> Vec<Migrations> {
        vec![
            Migrations::new("_auth_migrations", sqlx::migrate!("../../migrations/auth")),
            gpuproxy_events::migrations(),
        ]
    }

    fn describe(config: &Config) -> Vec<(&'static str, String)> {
        let sessions = match &config.redis.server {
            Some(server) => format!(
                "{:?} mode, redis {}:{}",
                config.session_mode, server.host, server.port
            ),
            None => format!("{:?} mode, in-memory store", config.session_mode),
        };
        vec![
            ("database", config.database.describe()),
            ("sessions", sessions.to_lowercase()),
        ]
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
                let revoked = match event.data_as::<SessionRevoked>() {
                    Ok(revoked) => revoked,
                    Err(error) => {
                        tracing::warn!(%error, id = %event.id, "a session revocation that cannot be read");
                        continue;
                    }
                };
                if let Err(error) = service.bury_session(&revoked.session_id).await {
                    tracing::warn!(%error, session_id = revoked.session_id, "marking a revoked session failed");
                }
            }
            Some(Delivery::Missed) => tracing::warn!("session revocations may have been missed"),
            None => anyhow::bail!("the event bus closed the subscription to session revocations"),
        }
    }
}
