//! The inference service's errors and the codes they map to.

use gpuproxy_domain::UserIdError;
use gpuproxy_errors::{ErrorCode, ServiceError};

/// What can go wrong, in the caller's terms.
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
    /// `NOT_FOUND`: no such model, or another user's.
    #[error("model {0} not found")]
    NotFound(String),
    /// `UNSUPPORTED_MODEL_FORMAT`.
    #[error("{0}")]
    Unsupported(String),
    /// `INVALID_MODEL`.
    #[error("{0}")]
    Invalid(String),
    /// `PAYLOAD_TOO_LARGE`: the file is over `ML_MAX_MODEL_BYTES`.
    #[error("the model is larger than ML_MAX_MODEL_BYTES ({0} bytes)")]
    TooLarge(u64),
    /// `STORAGE_QUOTA_EXCEEDED`.
    #[error("the upload would take your models past your storage quota of {quota} bytes ({used} used)")]
    Quota {
        /// The quota.
        quota: u64,
        /// What the user's models take.
        used: u64,
    },
    /// `RATE_LIMITED`.
    #[error("you started {count} uploads in the last {window}, the most allowed; try again later")]
    RateLimited {
        /// Uploads started.
        count: i64,
        /// `hour` or `day`.
        window: &'static str,
    },
    /// `VALIDATION_FAILED`: an input the model does not take (the message gives its signature).
    #[error("{0}")]
    BadInput(String),
    /// The money path said no (`SPENDING_LIMIT_EXCEEDED`, `CREDITS_EXHAUSTED`) or could not answer.
    #[error("{message}")]
    Refused {
        /// Its code.
        code: ErrorCode,
        /// Why, naming the window.
        message: String,
    },
    /// `SERVICE_UNAVAILABLE`: ONNX Runtime is not loaded (the message says how to install it).
    #[error("{0}")]
    RuntimeMissing(String),
    /// `INTERNAL` (logged, opaque to callers).
    #[error("{0}")]
    Internal(String),
    /// `INTERNAL` (logged, opaque to callers).
    #[error("the model store failed: {0}")]
    Database(#[from] sqlx::Error),
    /// `INTERNAL`.
    #[error("the model store failed: {0}")]
    Outbox(#[from] gpuproxy_events::OutboxError),
    /// `UNAVAILABLE`: object storage failed (the detail is logged where it happened).
    #[error("object storage failed")]
    Storage(#[from] object_store::Error),
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
            Error::InvalidField { .. } => ErrorCode::ValidationFailed,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Unsupported(_) => ErrorCode::UnsupportedModelFormat,
            Error::Invalid(_) => ErrorCode::InvalidModel,
            Error::TooLarge(_) => ErrorCode::PayloadTooLarge,
            Error::Quota { .. } => ErrorCode::StorageQuotaExceeded,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::BadInput(_) => ErrorCode::ValidationFailed,
            Error::Refused { code, .. } => *code,
            Error::RuntimeMissing(_) => ErrorCode::Unavailable,
            Error::Internal(_) | Error::Database(_) | Error::Outbox(_) => ErrorCode::Internal,
            Error::Storage(_) => ErrorCode::Unavailable,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidField { field, .. } => Some(field),
            Error::NotFound(_) => Some("model_id"),
            Error::Unsupported(_) | Error::Invalid(_) | Error::TooLarge(_) | Error::Quota { .. } => {
                Some("model")
            }
            _ => None,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        error.into_status()
    }
}
