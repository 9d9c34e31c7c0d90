//! A whole fleet in one test process: [`TestFleet::start`] runs the embedded server (every service in
//! one process, SQLite, in-process stores and bus) or the distributed fleet (the auth service and two
//! gateway replicas as separate servers on random ports, over PostgreSQL, Redis and NATS JetStream),
//! and hands back addresses and typed helpers. Tests talk to it only over REST and gRPC.

mod client_sdks;
mod fleet;
mod private_nats;
mod rest_client;

pub use client_sdks::run_script;
pub use fleet::{Gateway, JWT_SECRET, Mode, TestFleet};
pub use gpuproxy_testkit::{HookReceiver, HookRequest, verify_signature};
pub use private_nats::PrivateNats;
pub use rest_client::{Auth, PASSWORD, RestClient, expect_status, fresh_email};
