//! The internal gRPC API: the catalog listed, and actions run as the caller with their progress.

use std::pin::Pin;

use futures::Stream;
use gpuproxy_domain::UserId;
use gpuproxy_proto::gpuproxy::agents::v1 as pb;
use gpuproxy_proto::gpuproxy::agents::v1::agents_service_server::AgentsService;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status};

use crate::catalog::{self, CallError};
use crate::error::Error;
use crate::{ActionError, Actions, Caller, Progress};

/// Progress reports that may wait for a slow reader before the action waits for it.
const PROGRESS_BUFFER: usize = 16;

/// Serves [`Actions`] over gRPC.
#[derive(Debug, Clone)]
pub struct GrpcAgents {
    actions: Actions,
    running: TaskTracker,
}

impl GrpcAgents {
    /// Wraps `actions`; calls run under `running`, which shutdown waits for (a rent under way is
    /// paid for and must be recorded).
    pub fn new(actions: Actions, running: TaskTracker) -> Self {
        GrpcAgents { actions, running }
    }
}

#[tonic::async_trait]
impl AgentsService for GrpcAgents {
    async fn list_actions(
        &self,
        _request: Request<pb::ListActionsRequest>,
    ) -> Result<Response<pb::ListActionsResponse>, Status> {
        let actions = catalog::actions()
            .iter()
            .map(|action| pb::Action {
                name: action.name.to_owned(),
                description: action.description.to_owned(),
                input_schema: action.input_schema.to_string(),
                output_schema: action.output_schema.to_string(),
                spends_money: action.spends_money(),
                destructive: action.destructive(),
                read_only: action.read_only(),
                idempotent: action.idempotent(),
                runs_in_gateway: action.runs_in_gateway(),
                aliases: action.aliases.iter().map(|alias| (*alias).to_owned()).collect(),
            })
            .collect();
        Ok(Response::new(pb::ListActionsResponse { actions }))
    }

    type CallActionStream = Pin<Box<dyn Stream<Item = Result<pb::CallActionEvent, Status>> + Send>>;

    /// Checks the call before anything runs (a bad user id, an unknown action or arguments that
    /// are not an object are errors of the call), then streams the action's progress and outcome.
    /// Arguments its input refuses are found once the action reads them, and answered as the
    /// stream's error before any progress.
    async fn call_action(
        &self,
        request: Request<pb::CallActionRequest>,
    ) -> Result<Response<Self::CallActionStream>, Status> {
        let request = request.into_inner();
        let caller = Caller {
            user_id: request.user_id.parse::<UserId>().map_err(Error::from)?,
            admin: request.admin,
        };
        let Some(action) = catalog::action_named(&request.name) else {
            return Err(Error::from(CallError::UnknownAction(request.name)).into());
        };
        let arguments = arguments(&request.arguments)?;
        let (events, receiver) = mpsc::channel(PROGRESS_BUFFER);
        let actions = self.actions.clone();
        self.running.spawn(async move {
            let (progress, mut reports) = mpsc::channel::<Progress>(PROGRESS_BUFFER);
            let running = actions.call(
                caller,
                action.name,
                arguments,
                &request.idempotency_key,
                &progress,
            );
            tokio::pin!(running);
            let outcome = loop {
                tokio::select! {
                    outcome = &mut running => break outcome,
                    Some(report) = reports.recv() => {
                        let _ = events.try_send(Ok(progress_event(report)));
                    }
                }
            };
            while let Ok(report) = reports.try_recv() {
                let _ = events.try_send(Ok(progress_event(report)));
            }
            let event = match outcome {
                Ok(outcome) => Ok(outcome_event(outcome)),
                Err(refused) => Err(Status::from(Error::from(refused))),
            };
            let _ = events.send(event).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

/// Reads the arguments: absent or an object.
fn arguments(text: &str) -> Result<Value, Error> {
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ (Value::Object(_) | Value::Null)) => Ok(value),
        Ok(_) => Err(CallError::InvalidArguments("the arguments must be a JSON object".to_owned()).into()),
        Err(error) => Err(CallError::InvalidArguments(format!("the arguments are not JSON: {error}")).into()),
    }
}

fn progress_event(report: Progress) -> pb::CallActionEvent {
    pb::CallActionEvent {
        event: Some(pb::call_action_event::Event::Progress(pb::Progress {
            progress: report.progress,
            total: report.total,
            message: report.message,
        })),
    }
}

fn outcome_event(outcome: Result<Value, ActionError>) -> pb::CallActionEvent {
    let outcome = match outcome {
        Ok(result) => pb::action_outcome::Outcome::Result(result.to_string()),
        Err(error) => pb::action_outcome::Outcome::Error(pb::ActionError {
            code: error.code.as_str().to_owned(),
            message: error.message,
        }),
    };
    pb::CallActionEvent {
        event: Some(pb::call_action_event::Event::Outcome(pb::ActionOutcome {
            outcome: Some(outcome),
        })),
    }
}
