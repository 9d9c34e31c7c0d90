//! The gateway's error: a code from the shared table, mapped once to HTTP and once to gRPC.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use gpuproxy_errors::{ErrorCode, code_of, field_of};
use serde::Serialize;

/// How long a caller is told to wait before retrying a call to a service that was unavailable.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(2);

/// An error answered to a REST or gRPC caller. Errors of internal services arrive as gRPC statuses
/// and keep their code through [`From<tonic::Status>`], so a REST caller sees the code the service chose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    code: ErrorCode,
    message: String,
    field: Option<String>,
    retry_after: Option<Duration>,
}

/// The JSON body of an error: `{"error": "...", "code": "...", "field": "..."}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, for a human.
    #[schema(example = "password must be at least 8 characters")]
    pub error: String,
    /// What went wrong, for a program: one of the codes in the README.
    #[schema(example = "WEAK_PASSWORD")]
    pub code: &'static str,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "password")]
    pub field: Option<String>,
}

impl Error {
    /// Returns an error with `code` and a message for the caller.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Returns the error with the request field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Returns the error telling the caller when to retry (429).
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }

    /// Returns the code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// Returns a `NOT_IMPLEMENTED` error naming the capability that a later part of the fleet brings.
    pub fn not_implemented(capability: &str) -> Self {
        Error::new(
            ErrorCode::NotImplemented,
            format!(
                "{capability} is not part of this build yet: the service that provides it is not deployed"
            ),
        )
    }

    /// Returns `Retry-After` in whole seconds, rounded up and at least 1, for both fronts.
    fn retry_after_value<T: std::str::FromStr>(&self) -> Option<T> {
        let seconds = crate::rate_limit::ceil_secs(self.retry_after?).max(1);
        seconds.to_string().parse().ok()
    }

    /// Converts the error to a gRPC status carrying its code.
    pub fn into_status(self) -> tonic::Status {
        let retry_after = self.retry_after_value();
        let mut status = match &self.field {
            Some(field) => gpuproxy_errors::status_for_field(self.code, field, self.message),
            None => gpuproxy_errors::status(self.code, self.message),
        };
        if let Some(value) = retry_after {
            status.metadata_mut().insert("retry-after", value);
        }
        status
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        let code = code_of(&status);
        // A service's own answer says what happened; a broken connection says nothing useful.
        let answered = gpuproxy_errors::answered_by_service(&status);
        let message = match code {
            // The service logged the cause; a transport failure has nothing the caller can act on.
            ErrorCode::Internal => {
                "internal error; quote the X-Request-Id header when reporting it".to_owned()
            }
            ErrorCode::Unavailable if !answered => {
                "a service the request needs is unavailable; retry shortly".to_owned()
            }
            _ => status.message().to_owned(),
        };
        if code == ErrorCode::Unavailable || code == ErrorCode::Internal {
            tracing::warn!(grpc_code = ?status.code(), message = status.message(), "an internal service call failed");
        }
        Error {
            code,
            message,
            field: field_of(&status),
            // A service that is down or restarting is usually back within seconds; one that says
            // it cannot (a processor not configured) is not.
            retry_after: (code == ErrorCode::Unavailable && !answered).then_some(UNAVAILABLE_RETRY_AFTER),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_value();
        let status = self.code.http_status();
        let body = ErrorBody {
            error: self.message,
            code: self.code.as_str(),
            field: self.field,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(value) = retry_after {
            response.headers_mut().insert(http::header::RETRY_AFTER, value);
        }
        if self.code == ErrorCode::Unauthenticated
            || self.code == ErrorCode::InvalidToken
            || self.code == ErrorCode::TokenExpired
        {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
        }
        // The metrics middleware counts errors by code.
        response.extensions_mut().insert(self.code);
        response
    }
}

impl From<gpuproxy_spending::Refusal> for Error {
    fn from(refusal: gpuproxy_spending::Refusal) -> Self {
        Error::new(refusal.code, refusal.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_status_keeps_its_code_and_field_over_rest() {
        let status = gpuproxy_errors::status_for_field(ErrorCode::WeakPassword, "password", "too short");
        let error = Error::from(status);
        assert_eq!(error.code(), ErrorCode::WeakPassword);
        assert_eq!(error.field.as_deref(), Some("password"));
        assert_eq!(error.into_response().status(), http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn internal_details_never_reach_the_caller() {
        let error = Error::from(tonic::Status::internal("connection refused to 10.0.0.7"));
        assert!(!error.message.contains("10.0.0.7"));
    }

    #[test]
    fn rate_limit_errors_carry_retry_after_both_ways() {
        let error = Error::new(ErrorCode::RateLimited, "slow down").with_retry_after(Duration::from_secs(42));
        let response = error.clone().into_response();
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "42");
        let status = error.into_status();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status
                .metadata()
                .get("retry-after")
                .and_then(|value| value.to_str().ok()),
            Some("42")
        );
    }

    #[test]
    fn a_service_that_broke_off_mid_call_is_503_with_retry_after_both_ways() {
        let broken = tonic::Status::from_error(Box::new(std::io::Error::other("connection reset")));
        let error = Error::from(broken);
        assert_eq!(error.code(), ErrorCode::Unavailable);
        let response = error.clone().into_response();
        assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "2");
        let status = error.into_status();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert!(status.metadata().get("retry-after").is_some());
    }
}
