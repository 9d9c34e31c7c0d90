//! `aiserve-gpuproxy-client`: the REST API from a terminal. Human tables by default, `--json` for
//! scripts; `-dv` traces each call on standard error, `-dm` adds headers and bodies.
//!
//! Layout: `args.rs` is the command line (with the seed's single-dash `-key`, `-dv`, `-dm`) and
//! builds each call's path and body; `api.rs` makes the calls and turns `{"error","code"}` bodies
//! into errors; `commands.rs` runs a command and renders its answer. Both split by concept:
//! instances, reservations, the load balancer and the proxy.

mod api;
mod args;
mod commands;
mod mcp_bridge;

pub use api::ApiClient;
pub use args::{AgentCommand, ApiKeyCommand, Args, Command};
pub use commands::run;
