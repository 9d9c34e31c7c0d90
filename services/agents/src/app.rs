//! Building and running the agents service.

use std::time::Duration;

use gpuproxy_config::{
    AGENTS, BILLING, CATALOG, GUARDRAILS, InternalServerConfig, RESERVATION, Reader, ServiceSpec,
};
use gpuproxy_db::{Database, Migrations};
use gpuproxy_events::Outbox;
use gpuproxy_proto::gpuproxy::agents::v1::agents_service_server::AgentsServiceServer;
use gpuproxy_server::{Dependency, Every, HostedService, ServiceContext, ServiceHost, Tasks};
use tokio_util::task::TaskTracker;
use tonic::service::Routes;

use crate::Actions;
use crate::actions::Timeouts;
use crate::config::Config;
use crate::grpc::GrpcAgents;
use crate::tasks::{AgentTasks, HEARTBEAT};

/// The agents service, built and ready to run.
#[derive(Debug)]
pub struct App {
    actions: Actions,
    tasks: AgentTasks,
    host: ServiceHost,
    running: TaskTracker,
}

impl App {
    /// Returns the actions.
    pub fn actions(&self) -> &Actions {
        &self.actions
    }

    /// Returns the durable tasks.
    pub fn tasks(&self) -> &AgentTasks {
        &self.tasks
    }
}

impl HostedService for App {
    type Config = Config;

    const SPEC: &'static ServiceSpec = &AGENTS;

    fn read_config(reader: &mut Reader<'_>, developer_mode: bool) -> Config {
        Config::read(reader, developer_mode)
    }

    fn server_config(config: &mut Config) -> &mut InternalServerConfig {
        &mut config.server
    }

    /// Connects to the services that own what actions touch and to the database of tasks
    /// (migrating it), and binds the listener when the configuration names one.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
        let database = Database::connect(&config.database).await?;
        database.migrate(Self::migrations()).await?;
        let actions = Actions::new(
            context.peers.channel(&CATALOG)?,
            context.peers.channel(&RESERVATION)?,
            context.peers.channel(&GUARDRAILS)?,
            context.peers.channel(&BILLING)?,
            Timeouts {
                call: config.call_timeout,
                renting: config.renting_timeout,
                progress_interval: config.progress_interval.max(Duration::from_millis(10)),
            },
        );
        let running = TaskTracker::new();
        let tasks = AgentTasks::new(
            database.clone(),
            Outbox::new(database.clone(), AGENTS.name),
            actions.clone(),
            running.clone(),
        );
        let routes = Routes::new(AgentsServiceServer::new(GrpcAgents::new(
            actions.clone(),
            tasks.clone(),
            running.clone(),
        )));
        // Without its database the service can still run actions but keeps no task.
        let host = ServiceHost::new(&AGENTS, routes, &config.server)?
            .reporting(
                vec![
                    Dependency::Database(database),
                    Dependency::Bus(context.bus.clone()),
                ],
                config.database.health_check_period,
            )
            .relaying(
                tasks.outbox().clone(),
                context.bus.clone(),
                config.outbox_poll_interval,
            )
            .bind()
            .await?;
        Ok(App {
            actions,
            tasks,
            host,
            running,
        })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Starts serving and keeping tasks alive. Shutdown waits for the actions under way.
    fn spawn(self, tasks: &Tasks) {
        let App {
            host,
            running,
            tasks: agent_tasks,
            ..
        } = self;
        host.spawn(tasks);
        tasks.every("agents-task-heartbeat", Every::period(HEARTBEAT), move || {
            let agent_tasks = agent_tasks.clone();
            async move { agent_tasks.keep_alive().await }
        });
        tasks.drain_at_shutdown("agents-drain", running);
    }

    fn migrations() -> Vec<Migrations> {
        vec![
            Migrations::new("_agents_migrations", sqlx::migrate!("../../migrations/agents")),
            gpuproxy_events::migrations(),
        ]
    }
}
