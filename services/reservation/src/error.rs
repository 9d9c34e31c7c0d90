//! The reservation service's errors and the codes they map to.

use gpuproxy_domain::UserIdError;
use gpuproxy_errors::{ErrorCode, ServiceError};

/// What can go wrong in the reservation service, in the caller's terms.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `VALIDATION_FAILED` (gRPC `INVALID_ARGUMENT`).
    #[error("{field} {reason}")]
    InvalidField {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// `NOT_FOUND`: no such instance or reservation among the caller's own.
    #[error("no {what} {id}")]
    NotFound {
        /// `instance` or `reservation`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// `INSUFFICIENT_OFFERS` (gRPC `FAILED_PRECONDITION`): nothing was rented.
    #[error("only {available} offers match the filters; the reservation asks for {requested}")]
    InsufficientOffers {
        /// Matching offers.
        available: usize,
        /// The count asked for.
        requested: usize,
    },
    /// `NO_HEALTHY_INSTANCE`: the user has nothing running to send a request to.
    #[error("{0}")]
    NoHealthyInstance(String),
    /// The catalog refused or failed; its code is kept (an offer gone, a provider down, …).
    #[error("{message}")]
    Catalog {
        /// The catalog's code.
        code: ErrorCode,
        /// The catalog's message.
        message: String,
        /// The catalog says the provider surely did nothing (never asked, or refused before acting).
        nothing_done: bool,
    },
    /// Billing or the guard rails refused the spending (`CREDITS_EXHAUSTED`,
    /// `SPENDING_LIMIT_EXCEEDED`) or could not be asked; nothing was rented.
    #[error("{message}")]
    Refused {
        /// Their code.
        code: ErrorCode,
        /// Their message.
        message: String,
    },
    /// `SERVICE_UNAVAILABLE`: the database failed.
    #[error("the reservation store failed: {0}")]
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

    /// Returns a `NOT_FOUND` error for the caller's `what` named `id`.
    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { what, id: id.into() }
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        Error::Catalog {
            code: gpuproxy_errors::code_of(&status),
            message: status.message().to_owned(),
            nothing_done: gpuproxy_errors::nothing_done(&status),
        }
    }
}

impl From<gpuproxy_spending::Refusal> for Error {
    fn from(refusal: gpuproxy_spending::Refusal) -> Self {
        Error::Refused {
            code: refusal.code,
            message: refusal.message,
        }
    }
}

impl From<gpuproxy_events::OutboxError> for Error {
    fn from(error: gpuproxy_events::OutboxError) -> Self {
        match error {
            gpuproxy_events::OutboxError::Db(error) => Error::Db(error),
            other => Error::Internal(other.into()),
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
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::InsufficientOffers { .. } => ErrorCode::InsufficientOffers,
            Error::NoHealthyInstance(_) => ErrorCode::NoHealthyInstance,
            Error::Catalog { code, .. } | Error::Refused { code, .. } => *code,
            Error::Db(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        error.into_status()
    }
}
