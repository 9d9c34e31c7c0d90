//! Building and running the agents service.

use std::time::Duration;

use gpuproxy_config::{
    AGENTS, BILLING, CATALOG, GUARDRAILS, InternalServerConfig, RESERVATION, Reader, ServiceSpec,
};
use gpuproxy_proto::gpuproxy::agents::v1::agents_service_server::AgentsServiceServer;
use gpuproxy_server::{HostedService, ServiceContext, ServiceHost, Tasks};
use tokio_util::task::TaskTracker;
use tonic::service::Routes;

use crate::Actions;
use crate::actions::Timeouts;
use crate::config::Config;
use crate::grpc::GrpcAgents;

/// The agents service, built and ready to run.
#[derive(Debug)]
pub struct App {
    actions: Actions,
    host: ServiceHost,
    running: TaskTracker,
}

impl App {
    /// Returns the actions.
    pub fn actions(&self) -> &Actions {
        &self.actions
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

    /// Connects to the services that own what actions touch (it keeps nothing itself) and binds the
    /// listener when the configuration names one.
    async fn build(config: Config, context: ServiceContext) -> anyhow::Result<Self> {
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
        let routes = Routes::new(AgentsServiceServer::new(GrpcAgents::new(
            actions.clone(),
            running.clone(),
        )));
        let host = ServiceHost::new(&AGENTS, routes, &config.server)?.bind().await?;
        Ok(App {
            actions,
            host,
            running,
        })
    }

    fn host(&self) -> &ServiceHost {
        &self.host
    }

    /// Starts serving. Shutdown waits for the actions under way.
    fn spawn(self, tasks: &Tasks) {
        let App { host, running, .. } = self;
        host.spawn(tasks);
        let token = tasks.token();
        tasks.spawn("agents-drain", async move {
            token.cancelled().await;
            running.close();
            running.wait().await;
            Ok(())
        });
    }
}
