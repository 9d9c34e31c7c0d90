//! The error code table.

use std::fmt;
use std::str::FromStr;

use http::StatusCode;
use tonic::Code;

/// Says what went wrong, in terms a caller can act on.
///
/// Deliberately small: a new variant is a new public contract (it appears as `"code"` in REST bodies
/// and as the `ErrorInfo.reason` of gRPC statuses). Both mappings are exhaustive, with no catch-all arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The body is not valid JSON, has the wrong content type or the wrong shape.
    MalformedRequest,
    /// A field is missing or has a value the operation refuses.
    ValidationFailed,
    /// The email address is not a valid address.
    InvalidEmail,
    /// The password is too short or too long.
    WeakPassword,
    /// No credentials were sent.
    Unauthenticated,
    /// Login failed: unknown email or wrong password (deliberately indistinguishable).
    InvalidCredentials,
    /// The JWT or API key is malformed, badly signed, revoked or unknown.
    InvalidToken,
    /// The JWT or API key was valid once but has expired.
    TokenExpired,
    /// Authenticated, but not allowed to do this (e.g. not an admin).
    Forbidden,
    /// The resource does not exist, or belongs to somebody else.
    NotFound,
    /// The route exists but not with this HTTP method.
    MethodNotAllowed,
    /// The resource already exists.
    AlreadyExists,
    /// The email address is already registered.
    EmailTaken,
    /// The request body is larger than the configured limit.
    PayloadTooLarge,
    /// The request's content type is not one the route accepts.
    UnsupportedMediaType,
    /// Too many requests in the current window.
    RateLimited,
    /// A bug or an unexpected failure; details are in the server log under the request id.
    Internal,
    /// The capability is not part of this build yet.
    NotImplemented,
    /// A dependency (database, another service) is unreachable.
    Unavailable,
    /// The request took longer than allowed.
    Timeout,
    /// A GPU provider (vast.ai, io.net) failed, timed out or has its circuit breaker open.
    ProviderUnavailable,
    /// A GPU provider refused the request (bad image, insufficient provider credit, …); the message
    /// carries the provider's reason.
    ProviderRejected,
    /// The offer was rented by somebody else or left the market between listing and renting.
    OfferUnavailable,
    /// The spending would take a guard-rail window past its limit.
    SpendingLimitExceeded,
    /// Fewer offers match than the reservation asks for; nothing was rented.
    InsufficientOffers,
    /// The proxy refuses the target: a private, loopback or link-local address, or a host that is
    /// neither the caller's instance nor allow-listed (SSRF protection).
    TargetForbidden,
    /// The caller has no running, healthy instance to send the request to.
    NoHealthyInstance,
    /// The proxied upstream could not be reached or broke off the answer.
    UpstreamFailed,
    /// The spending would take the caller's balance past their overage cap.
    CreditsExhausted,
    /// A raw card number was sent; only payment-processor tokens (`card:pm_…`) are accepted.
    RawCardRejected,
    /// The payment processor declined the payment (card declined, insufficient funds, …).
    PaymentDeclined,
    /// An idempotency key was reused with different parameters.
    IdempotencyConflict,
    /// A webhook's signature is missing, wrong or too old.
    InvalidSignature,
    /// A webhook subscription names an event that does not exist.
    UnknownEvent,
    /// A WebSocket subscription names a channel that does not exist.
    UnknownChannel,
    /// An agent asked for an action (an MCP tool, a LangChain tool, …) that the catalog does not have.
    UnknownAction,
    /// An agent's task has already ended (completed, failed or canceled): it cannot be canceled.
    TaskEnded,
    /// An uploaded model's format is one this server does not serve; the message says what to
    /// upload instead.
    UnsupportedModelFormat,
    /// An uploaded model is corrupt or truncated, or not the format it claims.
    InvalidModel,
    /// An upload would take the user's models past their storage quota.
    StorageQuotaExceeded,
}

impl ErrorCode {
    /// Every code, for documentation and round-trip tests.
    pub const ALL: [ErrorCode; 40] = [
        ErrorCode::MalformedRequest,
        ErrorCode::ValidationFailed,
        ErrorCode::InvalidEmail,
        ErrorCode::WeakPassword,
        ErrorCode::Unauthenticated,
        ErrorCode::InvalidCredentials,
        ErrorCode::InvalidToken,
        ErrorCode::TokenExpired,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::AlreadyExists,
        ErrorCode::EmailTaken,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::NotImplemented,
        ErrorCode::Unavailable,
        ErrorCode::Timeout,
        ErrorCode::ProviderUnavailable,
        ErrorCode::ProviderRejected,
        ErrorCode::OfferUnavailable,
        ErrorCode::SpendingLimitExceeded,
        ErrorCode::InsufficientOffers,
        ErrorCode::TargetForbidden,
        ErrorCode::NoHealthyInstance,
        ErrorCode::UpstreamFailed,
        ErrorCode::CreditsExhausted,
        ErrorCode::RawCardRejected,
        ErrorCode::PaymentDeclined,
        ErrorCode::IdempotencyConflict,
        ErrorCode::InvalidSignature,
        ErrorCode::UnknownEvent,
        ErrorCode::UnknownChannel,
        ErrorCode::UnknownAction,
        ErrorCode::TaskEnded,
        ErrorCode::UnsupportedModelFormat,
        ErrorCode::InvalidModel,
        ErrorCode::StorageQuotaExceeded,
    ];

    /// Returns the code as it appears on the wire (`"code"` in REST bodies, `ErrorInfo.reason` in gRPC).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedRequest => "MALFORMED_REQUEST",
            ErrorCode::ValidationFailed => "VALIDATION_FAILED",
            ErrorCode::InvalidEmail => "INVALID_EMAIL",
            ErrorCode::WeakPassword => "WEAK_PASSWORD",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::InvalidCredentials => "INVALID_CREDENTIALS",
            ErrorCode::InvalidToken => "INVALID_TOKEN",
            ErrorCode::TokenExpired => "TOKEN_EXPIRED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::EmailTaken => "EMAIL_TAKEN",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::Unavailable => "SERVICE_UNAVAILABLE",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::ProviderUnavailable => "PROVIDER_UNAVAILABLE",
            ErrorCode::ProviderRejected => "PROVIDER_REJECTED",
            ErrorCode::OfferUnavailable => "OFFER_UNAVAILABLE",
            ErrorCode::SpendingLimitExceeded => "SPENDING_LIMIT_EXCEEDED",
            ErrorCode::InsufficientOffers => "INSUFFICIENT_OFFERS",
            ErrorCode::TargetForbidden => "TARGET_FORBIDDEN",
            ErrorCode::NoHealthyInstance => "NO_HEALTHY_INSTANCE",
            ErrorCode::UpstreamFailed => "UPSTREAM_FAILED",
            ErrorCode::CreditsExhausted => "CREDITS_EXHAUSTED",
            ErrorCode::RawCardRejected => "RAW_CARD_REJECTED",
            ErrorCode::PaymentDeclined => "PAYMENT_DECLINED",
            ErrorCode::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            ErrorCode::InvalidSignature => "INVALID_SIGNATURE",
            ErrorCode::UnknownEvent => "UNKNOWN_EVENT",
            ErrorCode::UnknownChannel => "UNKNOWN_CHANNEL",
            ErrorCode::UnknownAction => "UNKNOWN_ACTION",
            ErrorCode::TaskEnded => "TASK_ENDED",
            ErrorCode::UnsupportedModelFormat => "UNSUPPORTED_MODEL_FORMAT",
            ErrorCode::InvalidModel => "INVALID_MODEL",
            ErrorCode::StorageQuotaExceeded => "STORAGE_QUOTA_EXCEEDED",
        }
    }

    /// Returns the HTTP status a REST caller receives.
    pub const fn http_status(self) -> StatusCode {
        match self {
            ErrorCode::MalformedRequest
            | ErrorCode::ValidationFailed
            | ErrorCode::InvalidEmail
            | ErrorCode::WeakPassword => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::AlreadyExists | ErrorCode::EmailTaken => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ErrorCode::ProviderUnavailable | ErrorCode::ProviderRejected => StatusCode::BAD_GATEWAY,
            ErrorCode::OfferUnavailable => StatusCode::GONE,
            ErrorCode::SpendingLimitExceeded => StatusCode::PAYMENT_REQUIRED,
            ErrorCode::InsufficientOffers => StatusCode::CONFLICT,
            ErrorCode::TargetForbidden => StatusCode::FORBIDDEN,
            ErrorCode::NoHealthyInstance => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::UpstreamFailed => StatusCode::BAD_GATEWAY,
            ErrorCode::CreditsExhausted | ErrorCode::PaymentDeclined => StatusCode::PAYMENT_REQUIRED,
            ErrorCode::RawCardRejected
            | ErrorCode::InvalidSignature
            | ErrorCode::UnknownEvent
            | ErrorCode::UnknownChannel
            | ErrorCode::UnknownAction => StatusCode::BAD_REQUEST,
            ErrorCode::IdempotencyConflict | ErrorCode::TaskEnded => StatusCode::CONFLICT,
            ErrorCode::UnsupportedModelFormat | ErrorCode::InvalidModel => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::StorageQuotaExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// Returns the gRPC status code a gRPC caller receives.
    pub const fn grpc_code(self) -> Code {
        match self {
            ErrorCode::MalformedRequest
            | ErrorCode::ValidationFailed
            | ErrorCode::InvalidEmail
            | ErrorCode::WeakPassword
            | ErrorCode::UnsupportedMediaType => Code::InvalidArgument,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired => Code::Unauthenticated,
            ErrorCode::Forbidden => Code::PermissionDenied,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::MethodNotAllowed | ErrorCode::NotImplemented => Code::Unimplemented,
            ErrorCode::AlreadyExists | ErrorCode::EmailTaken => Code::AlreadyExists,
            ErrorCode::PayloadTooLarge | ErrorCode::RateLimited | ErrorCode::SpendingLimitExceeded => {
                Code::ResourceExhausted
            }
            ErrorCode::Internal => Code::Internal,
            ErrorCode::Unavailable => Code::Unavailable,
            ErrorCode::Timeout => Code::DeadlineExceeded,
            ErrorCode::ProviderUnavailable => Code::Unavailable,
            ErrorCode::ProviderRejected | ErrorCode::OfferUnavailable | ErrorCode::InsufficientOffers => {
                Code::FailedPrecondition
            }
            ErrorCode::TargetForbidden => Code::PermissionDenied,
            ErrorCode::NoHealthyInstance | ErrorCode::UpstreamFailed => Code::Unavailable,
            ErrorCode::CreditsExhausted => Code::ResourceExhausted,
            ErrorCode::RawCardRejected
            | ErrorCode::InvalidSignature
            | ErrorCode::UnknownEvent
            | ErrorCode::UnknownChannel
            | ErrorCode::UnknownAction => Code::InvalidArgument,
            ErrorCode::PaymentDeclined | ErrorCode::IdempotencyConflict | ErrorCode::TaskEnded => {
                Code::FailedPrecondition
            }
            ErrorCode::UnsupportedModelFormat | ErrorCode::InvalidModel => Code::InvalidArgument,
            ErrorCode::StorageQuotaExceeded => Code::ResourceExhausted,
        }
    }

    /// Returns the code that best describes a gRPC status that carries no `ErrorInfo`
    /// (a status produced by tonic itself or by a peer outside this workspace).
    pub const fn from_grpc_code(code: Code) -> ErrorCode {
        match code {
            Code::InvalidArgument | Code::OutOfRange => ErrorCode::ValidationFailed,
            Code::Unauthenticated => ErrorCode::Unauthenticated,
            Code::PermissionDenied => ErrorCode::Forbidden,
            Code::NotFound => ErrorCode::NotFound,
            Code::AlreadyExists => ErrorCode::AlreadyExists,
            Code::ResourceExhausted => ErrorCode::RateLimited,
            Code::Unimplemented => ErrorCode::NotImplemented,
            Code::Unavailable => ErrorCode::Unavailable,
            Code::DeadlineExceeded | Code::Cancelled => ErrorCode::Timeout,
            Code::FailedPrecondition => ErrorCode::OfferUnavailable,
            Code::Ok | Code::Unknown | Code::Aborted | Code::Internal | Code::DataLoss => ErrorCode::Internal,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Says that a string is not one of the codes of [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownErrorCode(pub String);

impl fmt::Display for UnknownErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown error code {:?}", self.0)
    }
}

impl std::error::Error for UnknownErrorCode {}

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| UnknownErrorCode(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_wire_string() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
        }
    }

    #[test]
    fn wire_strings_are_unique_upper_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.as_str();
            assert!(seen.insert(text), "{text} appears twice");
            assert!(text.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{text}");
        }
    }

    #[test]
    fn client_errors_map_to_4xx_and_server_errors_to_5xx() {
        for code in ErrorCode::ALL {
            let status = code.http_status();
            let server_side = matches!(
                code,
                ErrorCode::Internal
                    | ErrorCode::NotImplemented
                    | ErrorCode::Unavailable
                    | ErrorCode::Timeout
                    | ErrorCode::ProviderUnavailable
                    | ErrorCode::ProviderRejected
                    | ErrorCode::NoHealthyInstance
                    | ErrorCode::UpstreamFailed
            );
            assert_eq!(status.is_server_error(), server_side, "{code}");
            assert_eq!(status.is_client_error(), !server_side, "{code}");
        }
    }

    #[test]
    fn the_fallback_from_a_grpc_code_keeps_the_grpc_code() {
        for code in ErrorCode::ALL {
            let grpc = code.grpc_code();
            assert_eq!(ErrorCode::from_grpc_code(grpc).grpc_code(), grpc, "{code}");
        }
    }

    #[test]
    fn an_unknown_string_is_refused() {
        assert_eq!(
            "NO_SUCH_CODE".parse::<ErrorCode>(),
            Err(UnknownErrorCode("NO_SUCH_CODE".to_owned()))
        );
    }
}
