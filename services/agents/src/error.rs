//! The agents service's errors and the codes they map to: calls that ran no action, and tasks that
//! cannot be found, canceled or stored. An action that ran and failed is an
//! [`crate::ActionError`], answered as the call's (or the task's) outcome.

use gpuproxy_domain::UserIdError;
use gpuproxy_errors::{ErrorCode, ServiceError};

use crate::catalog::CallError;

/// What can make a call run no action, in the caller's terms.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `VALIDATION_FAILED`.
    #[error("{field} {reason}")]
    InvalidField {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `UNKNOWN_ACTION` or `VALIDATION_FAILED` on the arguments.
    #[error(transparent)]
    Call(#[from] CallError),
    /// `NOT_FOUND`: no such task, or another user's.
    #[error("task {0} not found")]
    TaskNotFound(String),
    /// `TASK_ENDED`: canceling a task that has ended.
    #[error("task {id} has already ended ({state}) and cannot be canceled")]
    TaskEnded {
        /// The task.
        id: String,
        /// How it ended.
        state: &'static str,
    },
    /// `UNAVAILABLE`: the service is stopping.
    #[error("the agents service is stopping")]
    Stopping,
    /// `INTERNAL` (logged, opaque to callers): the database failed.
    #[error("the task store failed: {0}")]
    Database(#[from] sqlx::Error),
    /// `INTERNAL` (logged, opaque to callers): the outbox failed.
    #[error("the task store failed: {0}")]
    Outbox(#[from] gpuproxy_events::OutboxError),
}

impl From<UserIdError> for Error {
    fn from(_: UserIdError) -> Self {
        Error::InvalidField {
            field: "user_id",
            reason: "must be a user id (a UUID)".to_owned(),
        }
    }
}

impl ServiceError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidField { .. } | Error::Call(CallError::InvalidArguments(_)) => {
                ErrorCode::ValidationFailed
            }
            Error::Call(CallError::UnknownAction(_)) => ErrorCode::UnknownAction,
            Error::Call(CallError::RunsInGateway(_)) => ErrorCode::NotImplemented,
            Error::TaskNotFound(_) => ErrorCode::NotFound,
            Error::TaskEnded { .. } => ErrorCode::TaskEnded,
            Error::Stopping => ErrorCode::Unavailable,
            Error::Database(_) | Error::Outbox(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidField { field, .. } => Some(field),
            Error::Call(CallError::InvalidArguments(_)) => Some("arguments"),
            Error::Call(CallError::UnknownAction(_) | CallError::RunsInGateway(_)) => Some("name"),
            Error::TaskNotFound(_) | Error::TaskEnded { .. } => Some("task_id"),
            Error::Stopping | Error::Database(_) | Error::Outbox(_) => None,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        error.into_status()
    }
}
