//! `aiserve-gpuproxy-admin`: the operator's tool. It works on the database directly (the same
//! `DB_*` variables as the server), through the auth service's own use cases, so every rule holds
//! and every event is written to the outbox for the running server to publish.
//!
//! The `guardrails-*` commands are the exception: spending lives in the guard rails service, so they
//! call a running gateway's admin routes with an admin's API key.
//!
//! Layout: `args.rs` is the command line; `commands.rs` runs a command and renders its answer as
//! a table or, with `--json`, as JSON; `commands/guardrails.rs` holds the gateway commands.

mod args;
mod commands;

pub use args::{Args, Command};
pub use commands::run;
