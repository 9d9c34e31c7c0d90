//! The billing service's errors and the codes they map to.

use gpuproxy_domain::UserIdError;
use gpuproxy_errors::{ErrorCode, ServiceError};

/// What can go wrong in the billing service, in the caller's terms.
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
    /// `RAW_CARD_REJECTED`: the message never repeats what was sent.
    #[error("raw card numbers are never accepted; send a Stripe PaymentMethod id (card:pm_…) instead")]
    RawCard,
    /// `NOT_FOUND`.
    #[error("no {what} {id}")]
    NotFound {
        /// `payment`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// `CREDITS_EXHAUSTED`: the debit would pass the overage cap.
    #[error("credits exhausted: a balance of {balance} less {amount} would pass the overage cap of {cap}")]
    CreditsExhausted {
        /// The balance before, in dollars.
        balance: String,
        /// The debit refused.
        amount: String,
        /// The cap.
        cap: String,
    },
    /// `IDEMPOTENCY_CONFLICT`: the key was used with other parameters.
    #[error("the Idempotency-Key was already used with different parameters")]
    IdempotencyConflict,
    /// `PAYMENT_DECLINED`: the processor declined; nothing was credited.
    #[error("payment {payment_id} was declined: {reason}")]
    Declined {
        /// Our payment id.
        payment_id: String,
        /// The processor's reason.
        reason: String,
    },
    /// `INVALID_SIGNATURE`: a webhook that is not the processor's, or too old.
    #[error("webhook refused: {0}")]
    Signature(String),
    /// `SERVICE_UNAVAILABLE`: the processor is not configured on this server.
    #[error("{0} payments are not configured on this server")]
    NotConfigured(&'static str),
    /// `PROVIDER_UNAVAILABLE`: the processor could not be reached; the outcome may be unknown, and a
    /// retry with the same idempotency key settles it exactly once.
    #[error("{0}")]
    Processor(String),
    /// `SERVICE_UNAVAILABLE`: the database failed.
    #[error("the billing store failed: {0}")]
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
            Error::RawCard => ErrorCode::RawCardRejected,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::CreditsExhausted { .. } => ErrorCode::CreditsExhausted,
            Error::IdempotencyConflict => ErrorCode::IdempotencyConflict,
            Error::Declined { .. } => ErrorCode::PaymentDeclined,
            Error::Signature(_) => ErrorCode::InvalidSignature,
            Error::NotConfigured(_) | Error::Db(_) => ErrorCode::Unavailable,
            Error::Processor(_) => ErrorCode::ProviderUnavailable,
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
