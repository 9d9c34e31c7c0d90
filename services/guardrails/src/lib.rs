//! The guard rails: each user's spending over the 17 sliding windows of the original product
//! (5 minutes to 72 hours), checked against the `GUARDRAILS_MAX_<W>_RATE` limits and recorded in one
//! atomic step, so concurrent spending can never pass a limit.
//!
//! Admins may override any window's limit per user.
//!
//! Layout: `spending.rs` holds the use cases over a ledger in `gpuproxy-kv` (Redis in the fleet,
//! memory embedded); `limits.rs` the limits each user's checks use (global, with overrides kept in
//! the database by `repo.rs` and cached); `input.rs` checks what callers send; `grpc.rs` is the
//! internal API; `app.rs` builds and runs the service.

mod app;
mod config;
mod error;
mod grpc;
mod input;
mod limits;
mod repo;
mod spending;

pub use app::App;
pub use config::{Config, GuardrailsConfig, Mode};
pub use error::Error;
pub use limits::{Limits, UserWindowLimit};
pub use spending::{Decision, Guardrails, Spending, WindowState};
