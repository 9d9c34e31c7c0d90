//! What every process of the fleet needs to run services: tracked tasks, graceful shutdown, gRPC
//! servers with health and reflection, channels to other services, and the host every internal
//! service is started by.
//!
//! Layout: `tasks.rs` spawns named tasks that stop on one cancellation token and reports the first
//! that failed; `periodic.rs` runs work on a schedule under those tasks; `shutdown.rs` turns SIGTERM
//! and ctrl-c into that cancellation; `grpc_server.rs` serves a gRPC router on a bound listener with
//! the standard health and reflection services; `grpc_channel.rs` gives clients one channel type,
//! whether the service is remote (fleet) or in the same process (embedded); `peers.rs` holds those
//! channels by row of the service table; `internal_token.rs` keeps internal ports closed to callers
//! outside the fleet; `host.rs` is what every internal service does alike (serve, report health,
//! relay its outbox); `service.rs` is what a service crate implements to be hosted, and the same with
//! its types erased so that one process can run any row of the table.

mod grpc_channel;
mod grpc_server;
mod host;
mod internal_token;
mod peers;
mod periodic;
mod service;
mod shutdown;
mod tasks;

pub use grpc_channel::{GrpcChannel, connect_lazy, in_process};
pub use grpc_server::{GrpcServer, Health, bind};
pub use host::{Dependency, STUCK_AFTER, ServiceHost};
pub use internal_token::{INTERNAL_TOKEN_HEADER, RequireToken, RequireTokenLayer, bind_internal};
pub use peers::Peers;
pub use periodic::Every;
pub use service::{BuiltService, HostedService, ServiceConfig, ServiceContext, ServiceEntry};
pub use shutdown::shutdown_signal;
pub use tasks::{TaskFailure, Tasks};
