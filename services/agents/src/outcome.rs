//! What an action reports while it works and answers when it fails.

use gpuproxy_errors::{ErrorCode, code_of};

/// An action ran and failed: a guard-rail refusal, an instance that is not the caller's, a provider
/// that said no. Agents see it as the action's answer (an MCP tool error), never as a broken call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ActionError {
    /// The error table's code.
    pub code: ErrorCode,
    /// What happened, for the agent and the human behind it.
    pub message: String,
}

impl ActionError {
    /// Returns an error with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ActionError {
            code,
            message: message.into(),
        }
    }
}

impl From<tonic::Status> for ActionError {
    /// The owning service's answer, code and message as it gave them.
    fn from(status: tonic::Status) -> Self {
        ActionError::new(code_of(&status), status.message())
    }
}

/// How far a long action has come.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Steps done.
    pub progress: f64,
    /// Steps in all (0: unknown).
    pub total: f64,
    /// What is happening.
    pub message: String,
}
