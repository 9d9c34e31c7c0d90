//! Building and running the billing service.

use std::time::Duration;

use gpuproxy_config::{BILLING, InternalServerConfig, Reader, ServiceSpec};
use gpuproxy_db::{Database, Migrations};
use gpuproxy_proto::gpuproxy::billing::v1::billing_service_server::BillingServiceServer;
use gpuproxy_server::{Dependency, Every, HostedService, ServiceContext, ServiceHost, Tasks};
use tonic::service::Routes;

use crate::config::Config;
use crate::grpc::GrpcBilling;
use crate::service::Billing;

/// How old a pending payment must be before it is looked up at its processor: its webhook
/// normally arrives well within this.
const SETTLE_AFTER: Duration = Duration::from_secs(60);
/// How often expired credit holds are looked for.
const HOLD_SWEEP: Duration = Duration::from_secs(30);

/// The billing service, built and ready to run: database migrated, listener bound.
#[derive(Debug)]
pub struct App {
    billing: Billing,
    host: ServiceHost,
    auto_renew_interval: Duration,
}

impl App {
    /// Returns the use cases, for tests.
    pub fn billing(&self) -> &Billing {
        &self.billing
    }
}

impl HostedService for App {
    type Config = Config;

    const SPEC: &'static ServiceSpec = &BILLING;

    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Config {
        Config::read(reader, developer_mode)
    }

    fn server_config(config: &mut Config) -> &mut InternalServerConfig {
        &mut config.server
    }

    /// Connects to the database (migrating it) and binds the gRPC listener when the configuration
    /// names one.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database).await?;
        database.migrate(Self::migrations()).await?;
        let billing = Billing::new(&config, database.clone())?;
        let routes = Routes::new(BillingServiceServer::new(GrpcBilling::new(billing.clone())));
        // Without its database the service can credit nothing, so the database's health is the service's.
        let host = ServiceHost::new(&BILLING, routes, &config.server)?
            .reporting(
                vec![
                    Dependency::Database(database),
                    Dependency::Bus(context.bus.clone()),
                ],
                config.database.health_check_period,
            )
            .relaying(billing.outbox().clone(), context.bus, config.outbox_poll_interval)
            .bind()
            .await?;
        Ok(App {
            billing,
            host,
            auto_renew_interval: config.auto_renew_interval,
        })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Starts serving, relaying events, settling payments whose webhook is late, releasing expired
    /// holds and charging due renewals.
    fn spawn(self, tasks: &Tasks) {
        let App {
            billing,
            host,
            auto_renew_interval,
        } = self;
        host.spawn(tasks);
        let settler = billing.clone();
        tasks.every("billing-settle-pending", Every::period(SETTLE_AFTER), move || {
            let settler = settler.clone();
            async move {
                let older_than = i64::try_from(SETTLE_AFTER.as_millis()).unwrap_or(i64::MAX);
                if let Err(error) = settler.settle_pending(older_than).await {
                    tracing::warn!(%error, "settling pending payments failed");
                }
            }
        });
        let sweeper = billing.clone();
        tasks.every("billing-expire-holds", Every::period(HOLD_SWEEP), move || {
            let sweeper = sweeper.clone();
            async move {
                match sweeper.expire_holds().await {
                    Ok(0) => {}
                    Ok(released) => tracing::info!(released, "expired credit holds released"),
                    Err(error) => tracing::warn!(%error, "releasing expired credit holds failed"),
                }
            }
        });
        let renewals = Every::period(auto_renew_interval)
            .at_once()
            .or_when(billing.renewal_marks());
        tasks.every("billing-auto-renew", renewals, move || {
            let renewer = billing.clone();
            async move {
                if let Err(error) = renewer.renew_due().await {
                    tracing::warn!(%error, "auto-renewal round failed");
                }
            }
        });
    }

    fn migrations() -> Vec<Migrations> {
        vec![
            Migrations::new("_billing_migrations", sqlx::migrate!("../../migrations/billing")),
            gpuproxy_events::migrations(),
        ]
    }
}
