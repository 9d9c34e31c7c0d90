//! The webhooks service's errors and the codes they map to.

use gpuproxy_domain::UserIdError;
use gpuproxy_errors::{ErrorCode, ServiceError};

/// What can go wrong in the webhooks service, in the caller's terms.
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
    /// `UNKNOWN_EVENT`: a name or pattern that matches no event.
    #[error("{0}")]
    UnknownEvent(String),
    /// `TARGET_FORBIDDEN`: the URL is (or resolves to) a private, loopback or link-local address.
    #[error("{0}")]
    TargetForbidden(String),
    /// `FORBIDDEN`: only admins may receive every user's events.
    #[error("{0}")]
    Forbidden(&'static str),
    /// `NOT_FOUND`: absent, or another user's.
    #[error("no {what} {id}")]
    NotFound {
        /// `webhook` or `delivery`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// `SERVICE_UNAVAILABLE`: the database failed.
    #[error("the webhooks store failed: {0}")]
    Db(#[from] sqlx::Error),
    /// `INTERNAL`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
            Error::UnknownEvent(_) => ErrorCode::UnknownEvent,
            Error::TargetForbidden(_) => ErrorCode::TargetForbidden,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::Db(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidField { field, .. } => Some(field),
            Error::UnknownEvent(_) => Some("events"),
            Error::TargetForbidden(_) => Some("url"),
            _ => None,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        error.into_status()
    }
}
