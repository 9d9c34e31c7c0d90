//! The guard rails' errors and the codes they map to.

use gpuproxy_domain::UserIdError;
use gpuproxy_errors::{ErrorCode, ServiceError};

/// What can go wrong in the guardrails service, in the caller's terms.
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
    /// `SERVICE_UNAVAILABLE`: the spending store cannot be reached, so nothing can be allowed.
    #[error("the spending store is unavailable: {0}")]
    Store(#[from] gpuproxy_kv::KvError),
    /// `SERVICE_UNAVAILABLE`: the database of per-user limits failed, so a user's limits are unknown.
    #[error("the limits database failed: {0}")]
    Db(#[from] sqlx::Error),
}

impl Error {
    /// Returns a `VALIDATION_FAILED` error blaming `field`.
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidField {
            field,
            reason: reason.into(),
        }
    }
}

impl From<UserIdError> for Error {
    fn from(_: UserIdError) -> Self {
        Error::invalid("user_id", "must be a user id (a UUID)")
    }
}

impl ServiceError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidField { .. } => ErrorCode::ValidationFailed,
            Error::Store(_) | Error::Db(_) => ErrorCode::Unavailable,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidField { field, .. } => Some(field),
            Error::Store(_) | Error::Db(_) => None,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        error.into_status()
    }
}
