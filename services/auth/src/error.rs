//! The auth service's errors and the codes they map to.

use gpuproxy_domain::{EmailError, UserIdError};
use gpuproxy_errors::{ErrorCode, ServiceError};

/// What can go wrong in the auth service, in the caller's terms.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `INVALID_EMAIL`.
    #[error(transparent)]
    InvalidEmail(#[from] EmailError),
    /// `WEAK_PASSWORD`.
    #[error("password must be at least {min} characters")]
    PasswordTooShort {
        /// The configured minimum.
        min: usize,
    },
    /// `VALIDATION_FAILED`: an unreasonably long password (hashing it would be a denial of service).
    #[error("password must be at most {max} bytes")]
    PasswordTooLong {
        /// The maximum.
        max: usize,
    },
    /// `VALIDATION_FAILED`.
    #[error("{field} {reason}")]
    InvalidField {
        /// The request field.
        field: &'static str,
        /// What is wrong with it, e.g. "is required".
        reason: String,
    },
    /// `EMAIL_TAKEN`.
    #[error("email is already registered")]
    EmailTaken,
    /// `INVALID_CREDENTIALS`: unknown email and wrong password look the same on purpose.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// `INVALID_TOKEN`: malformed, badly signed, wrong algorithm or issuer.
    #[error("invalid token")]
    InvalidToken,
    /// `TOKEN_EXPIRED`.
    #[error("token has expired; log in again")]
    TokenExpired,
    /// `INVALID_TOKEN`: the session behind a JWT was ended by logout.
    #[error("session has ended; log in again")]
    SessionEnded,
    /// `INVALID_TOKEN`: not a key we issued.
    #[error("invalid API key")]
    InvalidApiKey,
    /// `INVALID_TOKEN`.
    #[error("API key has been revoked")]
    ApiKeyRevoked,
    /// `TOKEN_EXPIRED`.
    #[error("API key has expired")]
    ApiKeyExpired,
    /// `NOT_FOUND`.
    #[error("user not found")]
    UserNotFound,
    /// `NOT_FOUND`: also for another user's key, which must look the same as a missing one.
    #[error("API key not found")]
    ApiKeyNotFound,
    /// `SERVICE_UNAVAILABLE` when the database is unreachable, `INTERNAL` otherwise.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// `SERVICE_UNAVAILABLE`: the session store (Redis) is unreachable.
    #[error("session store: {0}")]
    SessionStore(#[from] gpuproxy_kv::KvError),
    /// `INTERNAL`.
    #[error("event outbox: {0}")]
    Outbox(#[from] gpuproxy_events::OutboxError),
    /// `INTERNAL`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
            Error::InvalidEmail(_) => ErrorCode::InvalidEmail,
            Error::PasswordTooShort { .. } => ErrorCode::WeakPassword,
            Error::PasswordTooLong { .. } | Error::InvalidField { .. } => ErrorCode::ValidationFailed,
            Error::EmailTaken => ErrorCode::EmailTaken,
            Error::InvalidCredentials => ErrorCode::InvalidCredentials,
            Error::InvalidToken | Error::SessionEnded | Error::InvalidApiKey | Error::ApiKeyRevoked => {
                ErrorCode::InvalidToken
            }
            Error::TokenExpired | Error::ApiKeyExpired => ErrorCode::TokenExpired,
            Error::UserNotFound | Error::ApiKeyNotFound => ErrorCode::NotFound,
            Error::Db(error) if is_unreachable(error) => ErrorCode::Unavailable,
            Error::SessionStore(_) => ErrorCode::Unavailable,
            Error::Db(_) | Error::Outbox(_) | Error::Internal(_) => ErrorCode::Internal,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidEmail(_) => Some("email"),
            Error::PasswordTooShort { .. } | Error::PasswordTooLong { .. } => Some("password"),
            Error::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }
}

fn is_unreachable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
    )
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        error.into_status()
    }
}
