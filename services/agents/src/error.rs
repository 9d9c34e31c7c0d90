//! The agents service's errors and the codes they map to: calls that ran no action. An action that
//! ran and failed is an [`crate::ActionError`], answered as the call's outcome.

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
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidField { field, .. } => Some(field),
            Error::Call(CallError::InvalidArguments(_)) => Some("arguments"),
            Error::Call(CallError::UnknownAction(_) | CallError::RunsInGateway(_)) => Some("name"),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        error.into_status()
    }
}
