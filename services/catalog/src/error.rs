//! The catalog service's errors and the codes they map to.

use std::time::Duration;

use gpuproxy_domain::Provider;
use gpuproxy_errors::{ErrorCode, ServiceError};

/// What went wrong talking to one provider, after retries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider is not configured (no API key).
    #[error("{0} is not configured: set its API key")]
    Disabled(Provider),
    /// Too many recent failures: calls are refused without trying until the cooldown ends.
    #[error("{provider} is failing; its circuit breaker is open for another {}s", retry_in.as_secs().max(1))]
    CircuitOpen {
        /// The provider.
        provider: Provider,
        /// When a probe call will be let through.
        retry_in: Duration,
    },
    /// No answer within the time allowed.
    #[error("{provider} did not answer within {}ms", after.as_millis())]
    Timeout {
        /// The provider.
        provider: Provider,
        /// The time allowed.
        after: Duration,
    },
    /// Connection refused, reset, DNS failure, …
    #[error("{provider} is unreachable: {message}")]
    Network {
        /// The provider.
        provider: Provider,
        /// The transport's message.
        message: String,
    },
    /// Still rate limited after the retries, or asked to wait longer than we are willing to.
    #[error("{provider} is rate limiting us{}", retry_after.map(|wait| format!(" (retry after {}s)", wait.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The provider.
        provider: Provider,
        /// Its `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// vast.ai's daily search quota is used up: retrying before it resets (midnight UTC) is pointless.
    #[error("{provider}'s daily search quota is exhausted; it resets at midnight UTC")]
    QuotaExhausted {
        /// The provider.
        provider: Provider,
    },
    /// A 5xx after the retries.
    #[error("{provider} failed with HTTP {status}: {message}")]
    Server {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// The provider refused our key.
    #[error("{provider} refused the API key: {message}")]
    Unauthorized {
        /// The provider.
        provider: Provider,
        /// The provider's message.
        message: String,
    },
    /// A 4xx the caller can act on (bad image, no credit, …).
    #[error("{provider} refused the request (HTTP {status}): {message}")]
    Rejected {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// No such offer or instance.
    #[error("{provider} has no {what} {id}")]
    NotFound {
        /// The provider.
        provider: Provider,
        /// `offer` or `instance`.
        what: &'static str,
        /// The id asked for.
        id: String,
    },
    /// The offer was rented or withdrawn before we could rent it.
    #[error("{provider} offer {id} is no longer available: {message}")]
    OfferGone {
        /// The provider.
        provider: Provider,
        /// The offer.
        id: String,
        /// The provider's message.
        message: String,
    },
    /// The answer was not in the documented shape.
    #[error("{provider} answered in an unexpected shape: {message}")]
    Decode {
        /// The provider.
        provider: Provider,
        /// What did not parse.
        message: String,
    },
}

impl ProviderError {
    /// How long to leave the provider alone after this failure, when calling again sooner would only
    /// make it worse (rate limits, quotas, a refused key). Server errors and timeouts are the
    /// breaker's business.
    pub fn back_off_for(&self) -> Option<Duration> {
        match self {
            ProviderError::RateLimited { retry_after, .. } => {
                Some(retry_after.unwrap_or(Duration::from_secs(10)))
            }
            ProviderError::QuotaExhausted { .. } => Some(Duration::from_secs(600)),
            ProviderError::Unauthorized { .. } => Some(Duration::from_secs(60)),
            _ => None,
        }
    }
}

/// What can go wrong in the catalog service, in the caller's terms.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// `VALIDATION_FAILED`.
    #[error("{field} {reason}")]
    InvalidField {
        /// The request field.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Mapped by kind: unavailable, rejected, not found, gone.
    #[error(transparent)]
    Provider(#[from] ProviderError),
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

impl ServiceError for Error {
    fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidField { .. } => ErrorCode::ValidationFailed,
            Error::Provider(error) => match error {
                ProviderError::NotFound { .. } => ErrorCode::NotFound,
                ProviderError::OfferGone { .. } => ErrorCode::OfferUnavailable,
                ProviderError::Rejected { .. } => ErrorCode::ProviderRejected,
                ProviderError::Disabled(_)
                | ProviderError::CircuitOpen { .. }
                | ProviderError::Timeout { .. }
                | ProviderError::Network { .. }
                | ProviderError::RateLimited { .. }
                | ProviderError::QuotaExhausted { .. }
                | ProviderError::Server { .. }
                | ProviderError::Unauthorized { .. }
                | ProviderError::Decode { .. } => ErrorCode::ProviderUnavailable,
            },
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Error::InvalidField { field, .. } => Some(field),
            Error::Provider(_) => None,
        }
    }
}

impl Error {
    /// Returns whether the provider surely did nothing: it was never asked, or refused before acting.
    /// Timeouts, server errors, lost connections and unreadable answers may hide a done deed.
    pub fn changed_nothing(&self) -> bool {
        match self {
            Error::InvalidField { .. } => true,
            Error::Provider(error) => matches!(
                error,
                ProviderError::Disabled(_)
                    | ProviderError::CircuitOpen { .. }
                    | ProviderError::RateLimited { .. }
                    | ProviderError::QuotaExhausted { .. }
                    | ProviderError::Unauthorized { .. }
                    | ProviderError::NotFound { .. }
                    | ProviderError::OfferGone { .. }
                    | ProviderError::Rejected { .. }
            ),
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        let nothing_done = error.changed_nothing();
        let status = error.into_status();
        if nothing_done {
            gpuproxy_errors::mark_nothing_done(status)
        } else {
            status
        }
    }
}
