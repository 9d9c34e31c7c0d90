//! `aiserve-gpuproxy-admin`: the operator's tool. It works on the database directly (the same
//! `DB_*` variables as the server), through the auth service's own use cases, so every rule holds
//! and every event is written to the outbox for the running server to publish.
//!
//! Layout: `args.rs` is the command line; `commands.rs` runs a command and renders its answer as
//! a table or, with `--json`, as JSON.

mod args;
mod commands;

pub use args::{Args, Command};
pub use commands::run;
