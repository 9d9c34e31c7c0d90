//! The agents service: the one catalog of actions an agent can take.
//!
//! Each action is defined once ([`catalog`]): its name, description, the JSON Schemas of its input
//! and output (derived from the types it reads and answers, so schema and behaviour cannot drift),
//! and whether it reads, changes, spends or destroys. Each runs as the calling user through the
//! owning services' internal APIs, the same ones the REST routes reach, so ownership, defaults,
//! validation, guard rails, credits and events apply unchanged. The agent fronts (MCP in the gateway,
//! the agent protocols) adapt their envelopes to [`grpc`]; none runs an action itself. An action
//! may also run as a durable task (A2A's), kept in this service's database with its progress and
//! outcome ([`tasks`]).
//!
//! Layout: `catalog.rs` lists the actions; `actions/` runs them, one file per owning service;
//! `caller.rs` is who runs them; `outcome.rs` is what an action answers when it fails; `tasks/`
//! keeps them as tasks; `grpc.rs` serves them; `app.rs` builds the service.

mod actions;
mod app;
mod caller;
pub mod catalog;
mod config;
mod error;
mod grpc;
mod outcome;
pub mod tasks;

pub use actions::{Actions, Timeouts};
pub use app::App;
pub use caller::Caller;
pub use config::Config;
pub use outcome::{ActionError, Progress};
