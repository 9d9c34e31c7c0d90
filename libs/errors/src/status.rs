//! Carrying an [`ErrorCode`] across a gRPC hop.

use std::collections::HashMap;
use std::fmt::Display;

use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

use crate::ErrorCode;

/// The `ErrorInfo.domain` of every status this workspace produces.
pub const ERROR_DOMAIN: &str = "gpuproxy";

/// Builds a status whose `ErrorInfo` detail names `code`, so any hop can recover it with [`code_of`].
pub fn status(code: ErrorCode, message: impl Into<String>) -> Status {
    Status::with_error_details(
        code.grpc_code(),
        message,
        ErrorDetails::with_error_info(code.as_str(), ERROR_DOMAIN, HashMap::new()),
    )
}

/// Builds a status like [`status`] that also names the offending request field (`BadRequest` detail).
pub fn status_for_field(code: ErrorCode, field: &str, message: impl Into<String>) -> Status {
    let message = message.into();
    let mut details = ErrorDetails::with_error_info(code.as_str(), ERROR_DOMAIN, HashMap::new());
    details.add_bad_request_violation(field, message.clone());
    Status::with_error_details(code.grpc_code(), message, details)
}

/// The metadata key of a failed call that surely changed nothing downstream: the provider was never
/// asked (breaker open, disabled, backing off) or refused before acting. A caller may then try
/// elsewhere without risking doing the thing twice.
pub const NOTHING_DONE_KEY: &str = "gpuproxy-nothing-done";

/// Marks `status` as a failure that changed nothing downstream.
pub fn mark_nothing_done(mut status: Status) -> Status {
    status.metadata_mut().insert(
        NOTHING_DONE_KEY,
        tonic::metadata::MetadataValue::from_static("true"),
    );
    status
}

/// Returns whether `status` says its failure changed nothing downstream.
pub fn nothing_done(status: &Status) -> bool {
    status.metadata().get(NOTHING_DONE_KEY).is_some()
}

/// Returns the code a status carries, or the closest code for its gRPC code when it carries none. A
/// status made on this side from a failed connection (it has a source error; a peer's answer has
/// none) is `UNAVAILABLE` whatever its gRPC code: the service died or restarted mid-call, which the
/// caller may retry, not a bug of ours.
pub fn code_of(status: &Status) -> ErrorCode {
    status
        .get_error_details()
        .error_info()
        .filter(|info| info.domain == ERROR_DOMAIN)
        .and_then(|info| info.reason.parse().ok())
        .unwrap_or_else(|| match status.code() {
            tonic::Code::Unknown | tonic::Code::Internal if std::error::Error::source(status).is_some() => {
                ErrorCode::Unavailable
            }
            code => ErrorCode::from_grpc_code(code),
        })
}

/// Returns whether `status` is a service's own answer (it names its code), rather than one made on
/// this side from a call that failed on the way.
pub fn answered_by_service(status: &Status) -> bool {
    status
        .get_error_details()
        .error_info()
        .is_some_and(|info| info.domain == ERROR_DOMAIN)
}

/// Returns the request field a status blames, when it names one.
pub fn field_of(status: &Status) -> Option<String> {
    status
        .get_error_details()
        .bad_request()
        .and_then(|bad_request| bad_request.field_violations.first())
        .map(|violation| violation.field.clone())
}

/// Implemented by each service's `Error` enum: the code its variants map to, and the one place
/// where internal errors are logged.
pub trait ServiceError: std::error::Error + Sized {
    /// Returns the code this error maps to.
    fn code(&self) -> ErrorCode;

    /// Returns the request field this error blames, if any.
    fn field(&self) -> Option<&'static str> {
        None
    }

    /// Converts the error to a status: client errors keep their message, internal errors are logged
    /// here with their cause chain and reach the caller as an opaque message.
    fn into_status(self) -> Status {
        let code = self.code();
        if code == ErrorCode::Internal {
            tracing::error!(error = %ChainDisplay(&self), "internal error");
            return status(code, "internal error");
        }
        match self.field() {
            Some(field) => status_for_field(code, field, self.to_string()),
            None => status(code, self.to_string()),
        }
    }
}

/// Formats an error with every `source()` after it, separated by ": ".
struct ChainDisplay<'a, E>(&'a E);

impl<E: std::error::Error> Display for ChainDisplay<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_survives_the_trip_through_a_status() {
        for code in ErrorCode::ALL {
            let status = status(code, "message");
            assert_eq!(status.code(), code.grpc_code());
            assert_eq!(code_of(&status), code);
        }
    }

    #[test]
    fn a_status_without_details_falls_back_to_its_grpc_code() {
        assert_eq!(code_of(&Status::not_found("gone")), ErrorCode::NotFound);
        assert_eq!(code_of(&Status::unknown("?")), ErrorCode::Internal);
    }

    #[test]
    fn a_connection_that_broke_mid_call_is_unavailable() {
        let broken = Status::from_error(Box::new(std::io::Error::other("connection reset by peer")));
        assert_eq!(broken.code(), tonic::Code::Unknown);
        assert_eq!(code_of(&broken), ErrorCode::Unavailable);
    }

    #[test]
    fn the_blamed_field_survives_the_trip() {
        let status = status_for_field(ErrorCode::InvalidEmail, "email", "not an email address");
        assert_eq!(code_of(&status), ErrorCode::InvalidEmail);
        assert_eq!(field_of(&status).as_deref(), Some("email"));
        assert_eq!(status.message(), "not an email address");
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("saving the user")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    impl ServiceError for Outer {
        fn code(&self) -> ErrorCode {
            ErrorCode::Internal
        }
    }

    #[test]
    fn internal_errors_reach_the_caller_without_their_details() {
        let status = Outer(std::io::Error::other("disk on fire")).into_status();
        assert_eq!(code_of(&status), ErrorCode::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn the_chain_display_lists_every_cause() {
        let error = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(ChainDisplay(&error).to_string(), "saving the user: disk on fire");
    }
}
