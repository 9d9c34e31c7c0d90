//! Why spending did not go through.

use gpuproxy_errors::ErrorCode;

/// A refusal (credits exhausted, a guard-rail limit) or a failure (a service that did not answer),
/// with the code of the shared table the caller answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// The code the caller's front answers with.
    pub code: ErrorCode,
    /// What happened, for the caller.
    pub message: String,
}

impl Refusal {
    /// Returns a refusal with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

impl From<tonic::Status> for Refusal {
    fn from(status: tonic::Status) -> Self {
        Refusal::new(gpuproxy_errors::code_of(&status), status.message())
    }
}
