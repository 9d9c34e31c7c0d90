//! What every process of the fleet needs to run services: tracked tasks, graceful shutdown, gRPC
//! servers with health and reflection, and channels to other services.
//!
//! Layout: `tasks.rs` spawns named tasks that stop on one cancellation token and reports the first
//! that failed; `shutdown.rs` turns SIGTERM and ctrl-c into that cancellation; `grpc_server.rs` serves
//! a gRPC router on a bound listener with the standard health and reflection services;
//! `grpc_channel.rs` gives clients one channel type, whether the service is remote (fleet) or in the
//! same process (embedded); `internal_token.rs` keeps internal ports closed to callers outside the fleet.

mod grpc_channel;
mod grpc_server;
mod internal_token;
mod shutdown;
mod tasks;

pub use grpc_channel::{GrpcChannel, connect_lazy, in_process};
pub use grpc_server::{GrpcServer, Health, bind};
pub use internal_token::{INTERNAL_TOKEN_HEADER, RequireToken, RequireTokenLayer, bind_internal};
pub use shutdown::shutdown_signal;
pub use tasks::{TaskFailure, Tasks};
