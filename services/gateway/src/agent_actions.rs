//! The agents' actions as every agent front of the gateway calls them (MCP and the agent
//! protocols): the catalog comes from the agents service, and each call runs there as the
//! caller, with its progress; the one action that carries traffic (`proxy_inference_request`) is
//! run by the data plane, exactly as `POST /api/v1/gpu/proxy` runs it. A front only translates its
//! envelope to [`AgentActions::call`] and the [`Outcome`] back. An action may also start as a
//! durable task of the agents service (`tasks.rs`), followed until it ends.

mod tasks;

use std::sync::Arc;
use std::time::Duration;

use gpuproxy_domain::Principal;
use gpuproxy_errors::{ErrorCode, code_of};
use gpuproxy_proto::gpuproxy::agents::v1 as pb;
use gpuproxy_proto::gpuproxy::agents::v1::agents_service_client::AgentsServiceClient;
use gpuproxy_server::GrpcChannel;
use serde_json::Value;
use tokio::sync::{OnceCell, mpsc};

use crate::data_plane::{DataPlane, ProxyRequestDto, ProxyResponseDto};
use crate::{AppState, Error};

pub use tasks::{NewTask, TaskRefused};

/// How far a long action has come.
pub type Progress = pb::Progress;

/// What an action did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// It ran; its result object.
    Done(Value),
    /// It ran and failed, or could not run (a service down): the agent reads why.
    Failed {
        /// The error table's code.
        code: ErrorCode,
        /// What happened.
        message: String,
    },
}

impl Outcome {
    fn failed(error: &Error) -> Self {
        Outcome::Failed {
            code: error.code(),
            message: error.to_string(),
        }
    }
}

/// A call that ran nothing because of the call itself: the agent's protocol error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refused {
    /// No action has this name.
    #[error("unknown action: {0}")]
    UnknownAction(String),
    /// The arguments do not match the action's input schema.
    #[error("{0}")]
    InvalidArguments(String),
}

/// The agents service and the data plane, behind one call. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AgentActions {
    agents: AgentsServiceClient<GrpcChannel>,
    plane: DataPlane,
    catalog: Arc<OnceCell<Arc<[pb::Action]>>>,
    call_timeout: Duration,
}

impl axum::extract::FromRef<AppState> for AgentActions {
    fn from_ref(state: &AppState) -> Self {
        state.agents.clone()
    }
}

impl AgentActions {
    /// Returns the actions of `agents` (each call must start within `call_timeout`), with traffic
    /// carried by `plane`.
    pub fn new(agents: AgentsServiceClient<GrpcChannel>, plane: DataPlane, call_timeout: Duration) -> Self {
        AgentActions {
            agents,
            plane,
            catalog: Arc::new(OnceCell::new()),
            call_timeout,
        }
    }

    /// The catalog, asked for once: it changes only with a release.
    pub async fn catalog(&self) -> Result<Arc<[pb::Action]>, Error> {
        self.catalog
            .get_or_try_init(|| async {
                let listed = tokio::time::timeout(
                    self.call_timeout,
                    self.agents.clone().list_actions(pb::ListActionsRequest {}),
                )
                .await
                .map_err(|_| Error::new(ErrorCode::Timeout, "the agents service did not answer"))?
                .map_err(Error::from)?;
                Ok(listed.into_inner().actions.into())
            })
            .await
            .cloned()
    }

    /// Runs the action `name` (or one of its aliases) as `caller`, sending its progress to
    /// `progress`. An internal failure is logged here and reaches the agent as an opaque message.
    pub async fn call(
        &self,
        caller: &Principal,
        name: &str,
        arguments: Value,
        idempotency_key: String,
        progress: &mpsc::Sender<Progress>,
    ) -> Result<Outcome, Refused> {
        let answer = self
            .call_action(caller, name, arguments, idempotency_key, progress)
            .await;
        match answer {
            Ok(Outcome::Failed {
                code: ErrorCode::Internal,
                message,
            }) => {
                tracing::error!(action = name, user = %caller.user_id, %message, "an agent action failed");
                Ok(Outcome::Failed {
                    code: ErrorCode::Internal,
                    message: "internal error".to_owned(),
                })
            }
            Ok(Outcome::Failed {
                code: code @ (ErrorCode::Unavailable | ErrorCode::Timeout),
                message,
            }) => {
                tracing::warn!(action = name, %code, %message, "an agent action could not run");
                Ok(Outcome::Failed { code, message })
            }
            answer => answer,
        }
    }

    async fn call_action(
        &self,
        caller: &Principal,
        name: &str,
        arguments: Value,
        idempotency_key: String,
        progress: &mpsc::Sender<Progress>,
    ) -> Result<Outcome, Refused> {
        let catalog = match self.catalog().await {
            Ok(catalog) => catalog,
            Err(error) => return Ok(Outcome::failed(&error)),
        };
        let Some(action) = find(&catalog, name) else {
            return Err(Refused::UnknownAction(name.to_owned()));
        };
        if action.runs_in_gateway {
            return self.proxy(caller, arguments).await;
        }
        let call = pb::CallActionRequest {
            user_id: caller.user_id.to_string(),
            admin: caller.is_admin,
            name: action.name.clone(),
            arguments: if arguments.is_null() {
                String::new()
            } else {
                arguments.to_string()
            },
            idempotency_key,
        };
        let started = tokio::time::timeout(self.call_timeout, self.agents.clone().call_action(call)).await;
        let mut events = match started {
            Ok(Ok(events)) => events.into_inner(),
            Ok(Err(status)) => return refused(&status),
            Err(_) => {
                return Ok(Outcome::Failed {
                    code: ErrorCode::Timeout,
                    message: "the agents service did not answer".to_owned(),
                });
            }
        };
        loop {
            match events.message().await {
                Ok(Some(pb::CallActionEvent {
                    event: Some(pb::call_action_event::Event::Progress(report)),
                })) => {
                    // A listener that is gone or slow misses reports; the call goes on.
                    let _ = progress.try_send(report);
                }
                Ok(Some(pb::CallActionEvent {
                    event: Some(pb::call_action_event::Event::Outcome(outcome)),
                })) => return Ok(outcome_of(outcome)),
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Ok(Outcome::Failed {
                        code: ErrorCode::Unavailable,
                        message: "the agents service ended the call without an answer".to_owned(),
                    });
                }
                Err(status) => return refused(&status),
            }
        }
    }

    /// `proxy_inference_request`: the arguments are the body of `POST /api/v1/gpu/proxy`.
    async fn proxy(&self, caller: &Principal, arguments: Value) -> Result<Outcome, Refused> {
        let request: ProxyRequestDto = serde_json::from_value(arguments)
            .map_err(|error| Refused::InvalidArguments(error.to_string()))?;
        let proxied = match request.into_call(&self.plane, None) {
            Ok(call) => self.plane.proxy_once(caller.user_id, call).await,
            Err(error) => Err(error),
        };
        Ok(match proxied {
            Ok(reply) => match serde_json::to_value(ProxyResponseDto::from(reply)) {
                Ok(answer) => Outcome::Done(answer),
                Err(error) => Outcome::Failed {
                    code: ErrorCode::Internal,
                    message: format!("answering failed: {error}"),
                },
            },
            Err(error) => Outcome::failed(&error),
        })
    }
}

/// Returns the action called `name` or known by it as an alias.
pub fn find<'a>(catalog: &'a [pb::Action], name: &str) -> Option<&'a pb::Action> {
    catalog.iter().find(|action| action.name == name).or_else(|| {
        catalog
            .iter()
            .find(|action| action.aliases.iter().any(|alias| alias == name))
    })
}

/// A call the agents service answered with an error status: an unknown action or bad arguments
/// are the agent's; anything else (a service down) is an outcome the agent reads.
fn refused(status: &tonic::Status) -> Result<Outcome, Refused> {
    match code_of(status) {
        ErrorCode::UnknownAction => Err(Refused::UnknownAction(status.message().to_owned())),
        ErrorCode::ValidationFailed => Err(Refused::InvalidArguments(status.message().to_owned())),
        code => Ok(Outcome::Failed {
            code,
            message: status.message().to_owned(),
        }),
    }
}

fn outcome_of(outcome: pb::ActionOutcome) -> Outcome {
    match outcome.outcome {
        Some(pb::action_outcome::Outcome::Result(text)) => match serde_json::from_str(&text) {
            Ok(value) => Outcome::Done(value),
            Err(_) => Outcome::Failed {
                code: ErrorCode::Internal,
                message: "the action answered something that is not JSON".to_owned(),
            },
        },
        Some(pb::action_outcome::Outcome::Error(error)) => Outcome::Failed {
            code: error.code.parse().unwrap_or(ErrorCode::Internal),
            message: error.message,
        },
        None => Outcome::Failed {
            code: ErrorCode::Internal,
            message: "the action answered nothing".to_owned(),
        },
    }
}
