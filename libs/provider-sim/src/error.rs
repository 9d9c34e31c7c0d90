//! Errors of starting a simulator.

/// Returned by [`crate::Simulator::start`].
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listener handed to `start` could not report its address (it is not bound).
    #[error("reading the listener address failed")]
    ListenerAddress(#[source] std::io::Error),
}
