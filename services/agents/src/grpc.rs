//! The internal gRPC API: the catalog listed, actions run as the caller with their progress, and
//! actions run as durable tasks.

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

use crate::catalog::{self, ActionSpec, CallError};
use crate::error::Error;
use crate::tasks::{AgentTasks, StartTask, TaskFilter, TaskRow, TaskState, unmilli};
use crate::{ActionError, Actions, Caller, Progress};

/// Progress reports that may wait for a slow reader before the action waits for it.
const PROGRESS_BUFFER: usize = 16;

/// Serves [`Actions`] over gRPC.
#[derive(Debug, Clone)]
pub struct GrpcAgents {
    actions: Actions,
    tasks: AgentTasks,
    running: TaskTracker,
}

impl GrpcAgents {
    /// Wraps `actions`; calls run under `running`, which shutdown waits for (a rent under way is
    /// paid for and must be recorded).
    pub fn new(actions: Actions, tasks: AgentTasks, running: TaskTracker) -> Self {
        GrpcAgents {
            actions,
            tasks,
            running,
        }
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
        let (caller, action) = caller_and_action(&request.user_id, request.admin, &request.name)?;
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

    async fn start_task(&self, request: Request<pb::StartTaskRequest>) -> Result<Response<pb::Task>, Status> {
        let request = request.into_inner();
        let (caller, action) = caller_and_action(&request.user_id, request.admin, &request.name)?;
        if action.runs_in_gateway() {
            return Err(Error::from(CallError::RunsInGateway(action.name.to_owned())).into());
        }
        let task = self
            .tasks
            .start(StartTask {
                caller,
                action,
                arguments: arguments(&request.arguments)?,
                idempotency_key: request.idempotency_key,
                context_id: request.context_id,
                request: request.request,
            })
            .await?;
        Ok(Response::new(task_message(task)))
    }

    async fn get_task(&self, request: Request<pb::TaskRequest>) -> Result<Response<pb::Task>, Status> {
        let request = request.into_inner();
        let task = self
            .tasks
            .get(user_id(&request.user_id)?, &request.task_id)
            .await?;
        Ok(Response::new(task_message(task)))
    }

    async fn list_tasks(
        &self,
        request: Request<pb::ListTasksRequest>,
    ) -> Result<Response<pb::ListTasksResponse>, Status> {
        let request = request.into_inner();
        let state = match request.state.as_str() {
            "" => None,
            text => Some(TaskState::parse(text).ok_or_else(|| Error::InvalidField {
                field: "state",
                reason: "must be working, completed, failed or canceled".to_owned(),
            })?),
        };
        let filter = TaskFilter {
            context_id: Some(request.context_id).filter(|id| !id.is_empty()),
            state,
            updated_after: Some(request.updated_after_ms).filter(|ms| *ms > 0),
        };
        let (tasks, next_page_token, total) = self
            .tasks
            .list(
                user_id(&request.user_id)?,
                &filter,
                request.page_size,
                &request.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListTasksResponse {
            tasks: tasks.into_iter().map(task_message).collect(),
            next_page_token,
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }

    async fn cancel_task(&self, request: Request<pb::TaskRequest>) -> Result<Response<pb::Task>, Status> {
        let request = request.into_inner();
        let task = self
            .tasks
            .cancel(user_id(&request.user_id)?, &request.task_id)
            .await?;
        Ok(Response::new(task_message(task)))
    }

    type WatchTaskStream = Pin<Box<dyn Stream<Item = Result<pb::Task, Status>> + Send>>;

    async fn watch_task(
        &self,
        request: Request<pb::TaskRequest>,
    ) -> Result<Response<Self::WatchTaskStream>, Status> {
        use futures::StreamExt as _;

        let request = request.into_inner();
        let changes = self
            .tasks
            .watch(user_id(&request.user_id)?, &request.task_id)
            .await?;
        Ok(Response::new(Box::pin(
            changes.map(|task| Ok(task_message(task))),
        )))
    }
}

fn user_id(text: &str) -> Result<UserId, Error> {
    Ok(text.parse::<UserId>()?)
}

/// Who calls and which action (by name or alias) a call names.
fn caller_and_action(user: &str, admin: bool, name: &str) -> Result<(Caller, &'static ActionSpec), Error> {
    let caller = Caller {
        user_id: user_id(user)?,
        admin,
    };
    let action = catalog::action_named(name).ok_or_else(|| CallError::UnknownAction(name.to_owned()))?;
    Ok((caller, action))
}

/// A task as the API answers it.
fn task_message(row: TaskRow) -> pb::Task {
    let progress = (row.total_milli > 0 || !row.progress_message.is_empty()).then(|| pb::Progress {
        progress: unmilli(row.progress_milli),
        total: unmilli(row.total_milli),
        message: row.progress_message.clone(),
    });
    let error = row.error_code.as_ref().map(|code| pb::ActionError {
        code: code.clone(),
        message: row.error_message.clone().unwrap_or_default(),
    });
    pb::Task {
        id: row.id,
        user_id: row.user_id,
        context_id: row.context_id,
        action: row.action,
        arguments: row.arguments,
        state: row.state,
        progress,
        result: row.result.unwrap_or_default(),
        error,
        request: row.request,
        created_at_ms: row.created_at,
        updated_at_ms: row.updated_at,
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
