//! Actions run as durable tasks of the agents service (A2A's tasks), as the caller.

use futures::Stream;
use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use gpuproxy_proto::gpuproxy::agents::v1 as pb;
use serde_json::Value;

use crate::Error;
use crate::agent_actions::{AgentActions, Refused, find};

/// A task to start.
#[derive(Debug)]
pub struct NewTask {
    /// The action's name or alias.
    pub name: String,
    /// Its arguments (an object, or null).
    pub arguments: Value,
    /// A retried start with this key answers the first one's task.
    pub idempotency_key: String,
    /// Its conversation (empty: a new one).
    pub context_id: String,
    /// The message that asked for it (JSON).
    pub request: Value,
}

/// Why a task call did nothing.
#[derive(Debug)]
pub enum TaskRefused {
    /// The call itself: an unknown action, arguments its schema refuses.
    Call(Refused),
    /// The agents service's answer (a task not found, one that has ended, the service down).
    Service(Error),
}

impl From<Error> for TaskRefused {
    fn from(error: Error) -> Self {
        TaskRefused::Service(error)
    }
}

impl AgentActions {
    /// Starts `task` as `caller`; answers it `working`.
    pub async fn start_task(&self, caller: &Principal, task: NewTask) -> Result<pb::Task, TaskRefused> {
        let catalog = self.catalog().await?;
        let Some(action) = find(&catalog, &task.name) else {
            return Err(TaskRefused::Call(Refused::UnknownAction(task.name)));
        };
        let request = pb::StartTaskRequest {
            user_id: caller.user_id.to_string(),
            admin: caller.is_admin,
            name: action.name.clone(),
            arguments: if task.arguments.is_null() {
                String::new()
            } else {
                task.arguments.to_string()
            },
            idempotency_key: task.idempotency_key,
            context_id: task.context_id,
            request: task.request.to_string(),
        };
        self.within(self.agents.clone().start_task(request))
            .await
            .map_err(|error| match error.code() {
                ErrorCode::UnknownAction => TaskRefused::Call(Refused::UnknownAction(error.to_string())),
                ErrorCode::ValidationFailed => {
                    TaskRefused::Call(Refused::InvalidArguments(error.to_string()))
                }
                _ => TaskRefused::Service(error),
            })
    }

    /// One of `caller`'s tasks.
    pub async fn get_task(&self, caller: &Principal, task_id: &str) -> Result<pb::Task, Error> {
        self.within(self.agents.clone().get_task(task_request(caller, task_id)))
            .await
    }

    /// One page of `caller`'s tasks.
    pub async fn list_tasks(
        &self,
        caller: &Principal,
        mut request: pb::ListTasksRequest,
    ) -> Result<pb::ListTasksResponse, Error> {
        request.user_id = caller.user_id.to_string();
        self.within(self.agents.clone().list_tasks(request)).await
    }

    /// Cancels one of `caller`'s working tasks.
    pub async fn cancel_task(&self, caller: &Principal, task_id: &str) -> Result<pb::Task, Error> {
        self.within(self.agents.clone().cancel_task(task_request(caller, task_id)))
            .await
    }

    /// One of `caller`'s tasks now, then each change until it ends. When the agents service's
    /// stream breaks off before the end, the task is read again until it ends; a read that fails
    /// ends the stream early.
    pub async fn watch_task(
        &self,
        caller: &Principal,
        task_id: &str,
    ) -> Result<impl Stream<Item = pb::Task> + Send + 'static, Error> {
        let changes = self
            .within(self.agents.clone().watch_task(task_request(caller, task_id)))
            .await?;
        let state = Following {
            actions: self.clone(),
            request: task_request(caller, task_id),
            changes: Some(changes),
            ended: false,
        };
        Ok(futures::stream::unfold(state, |mut state| async move {
            let task = state.next().await?;
            state.ended = task.state != "working";
            Some((task, state))
        }))
    }

    /// Runs one call to the agents service within the call timeout.
    async fn within<T>(
        &self,
        call: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.call_timeout, call).await {
            Ok(Ok(answer)) => Ok(answer.into_inner()),
            Ok(Err(status)) => Err(Error::from(status)),
            Err(_) => Err(Error::new(
                ErrorCode::Timeout,
                "the agents service did not answer",
            )),
        }
    }
}

/// How often a task is read when its stream broke off.
const REREAD: std::time::Duration = std::time::Duration::from_millis(500);

/// A task followed for [`AgentActions::watch_task`].
struct Following {
    actions: AgentActions,
    request: pb::TaskRequest,
    changes: Option<tonic::Streaming<pb::Task>>,
    ended: bool,
}

impl Following {
    async fn next(&mut self) -> Option<pb::Task> {
        if self.ended {
            return None;
        }
        if let Some(changes) = &mut self.changes {
            match changes.message().await {
                Ok(Some(task)) => return Some(task),
                Ok(None) => {}
                Err(status) => {
                    tracing::warn!(%status, "following an agent task broke off; reading it instead")
                }
            }
            self.changes = None;
        }
        tokio::time::sleep(REREAD).await;
        let read = self
            .actions
            .within(self.actions.agents.clone().get_task(self.request.clone()))
            .await;
        match read {
            Ok(task) => Some(task),
            Err(error) => {
                tracing::warn!(%error, "reading an agent task failed; its watcher stops");
                None
            }
        }
    }
}

fn task_request(caller: &Principal, task_id: &str) -> pb::TaskRequest {
    pb::TaskRequest {
        user_id: caller.user_id.to_string(),
        task_id: task_id.to_owned(),
    }
}
