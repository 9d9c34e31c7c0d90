//! The gateway: the one door users knock on. REST under `/api/v1` and the public gRPC API
//! `gpuproxy.v1.GPUProxyService`, both authenticated (API key or JWT) and rate limited, in front of
//! the internal services; plus `/health`, `/metrics` and `/openapi.json`.
//!
//! Layout: [`Config`] and [`App`] build and run it; [`AppState`] is what handlers reach, narrowed to
//! [`operations::Operations`] (the control plane) or [`data_plane::DataPlane`] (proxied traffic).
//! `operations/` is what every front does for a caller (rent, reserve, list, pay…), with typed
//! inputs and outputs; `data_plane/` sends proxied traffic to GPU instances (load-balanced) and
//! SSRF-checked hosts, and serves REST on per-core workers; `credentials.rs` reads credentials from
//! headers; `authenticator.rs` turns them into principals with an event-invalidated cache;
//! `rate_limit.rs` counts requests; `gatekeeper.rs` combines them into one admission decision for
//! REST and gRPC; `client_address.rs` says who is calling; `health.rs` probes dependencies;
//! `hub.rs` fans bus events out to `/ws` connections (`rest/ws.rs`); `money.rs` converts USD
//! amounts at the edges; `rest/` is the REST API (one file per resource, plus middleware, envelope
//! and extractors); `public_grpc/` is the public gRPC API with the steps around each call
//! (authentication, metrics); `error.rs` maps the shared error codes to HTTP and gRPC.

pub mod agent_actions;
mod agent_protocols;
mod app;
mod authenticator;
mod client_address;
mod config;
mod credentials;
pub mod data_plane;
mod error;
mod gatekeeper;
mod health;
mod hub;
pub mod mcp;
mod money;
pub mod operations;
mod public_grpc;
mod rate_limit;
pub mod rest;
mod state;

pub use app::App;
pub use authenticator::Authenticator;
pub use config::{Config, CorsOrigins, ProxyConfig, RateLimitConfig, TlsFiles, WsConfig};
pub use credentials::Credentials;
pub use data_plane::{
    DataPlane, Endpoint, InProcessReservations, InstanceBody, InstanceConnections, InstanceError,
};
pub use error::{Error, ErrorBody};
pub use gatekeeper::{Admission, Gatekeeper, Refusal};
pub use health::{DependencyStatus, HealthReport, OverallStatus};
pub use hub::{Channel, Hub};
pub use public_grpc::{Authenticate, CallStep, Layered, MethodPolicy, Next, Observe, PublicApi};
pub use rate_limit::{RateDecision, RateLimiter};
pub use state::{AppState, SharedState};
