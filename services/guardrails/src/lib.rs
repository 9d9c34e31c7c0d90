//! The guard rails: each user's spending over the 17 sliding windows of the original product
//! (5 minutes to 72 hours), checked against the `GUARDRAILS_MAX_<W>_RATE` limits and recorded in one
//! atomic step, so concurrent spending can never pass a limit.
//!
//! Layout: `spending.rs` holds the use cases over a ledger in `gpuproxy-kv` (Redis in the fleet,
//! memory embedded); `grpc.rs` is the internal API; `app.rs` builds and runs the service.

mod app;
mod config;
mod error;
mod grpc;
mod spending;

pub use app::{App, SERVICE_NAME};
pub use config::{Config, Mode};
pub use error::Error;
pub use spending::{Decision, Guardrails, Spending, WindowState};
