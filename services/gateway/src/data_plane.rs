//! The data plane: a caller's requests on their way to their GPU instances (or an allow-listed
//! host), apart from the control plane's operations. Everything a proxied request touches lives
//! here, with its own narrow state ([`DataPlane`]): picking the target, SSRF checks, time limits,
//! charging `PROXY_REQUEST_COST`, sending and streaming, and feeding the load balancer.
//!
//! Layout: `proxy.rs` holds the ways out and time limits; `balancer_link.rs` reaches the load
//! balancer (picks and results) and `reporter.rs` batches the results; `target.rs` picks or checks
//! the target and tickets each request; `charge.rs` charges a request before it goes out;
//! `protocol.rs` shapes a request per protocol; `forward.rs` sends it and reads (or streams) the
//! answer; `instance_connections.rs` keeps the streaming route's connections to instances per
//! endpoint (`endpoint.rs`), each a `connection.rs`; `withheld.rs` names the headers never passed
//! on. The fronts: `route.rs` (the streaming `/gpu/route`), `proxy_route.rs` (`POST /gpu/proxy`),
//! `proxy_ws.rs` (`/gpu/proxy/ws`) and `grpc_proxying.rs` (`ProxyRequest`, `StreamProxyRequest`).
//! `http_workers.rs` serves REST on per-core workers, each with its own data plane and credential
//! memo (`auth_memo.rs`).

mod auth_memo;
mod balancer_link;
mod charge;
mod connection;
mod endpoint;
pub mod forward;
pub(crate) mod grpc_proxying;
pub(crate) mod http_workers;
mod instance_connections;
mod protocol;
mod proxy;
pub(crate) mod proxy_route;
pub(crate) mod proxy_ws;
mod reporter;
pub(crate) mod route;
mod target;
mod withheld;

use axum::extract::FromRef;
use gpuproxy_spending::Spending;

use crate::AppState;
use crate::operations::Operations;

pub use auth_memo::AuthMemo;
pub use balancer_link::{BalancerLink, InProcessReservations};
pub use endpoint::Endpoint;
pub use forward::{ProxyCall, ProxyReply};
pub use instance_connections::{InstanceBody, InstanceConnections, InstanceError};
pub use protocol::{Protocol, shape};
pub use proxy::{Proxy, TIMELIMIT_HEADER};
pub use proxy_route::{ProxyRequestDto, ProxyResponseDto};
pub use reporter::{ResultFlusher, ResultReporter, result_reporter};
pub use target::{Ticket, join};
pub use withheld::{WITHHELD_REQUEST, WITHHELD_RESPONSE, withhold};

/// What a proxied request reaches. Cheap to clone; each REST worker has one of its own
/// ([`DataPlane::for_worker`]) so that its connections to instances stay on its core.
#[derive(Debug, Clone)]
pub struct DataPlane {
    /// The ways out, and their bounds.
    pub proxy: Proxy,
    /// The load balancer's per-request calls (in this process when the reservation service is).
    pub balancer: BalancerLink,
    /// Where proxied requests' results go, batched, to the load balancer.
    pub results: ResultReporter,
    /// The money path, for `PROXY_REQUEST_COST`.
    spending: Spending,
    /// The control plane, for what a request names rather than picks (the caller's own instances).
    operations: Operations,
}

impl DataPlane {
    /// Returns the data plane over its parts.
    pub fn new(
        proxy: Proxy,
        balancer: BalancerLink,
        results: ResultReporter,
        spending: Spending,
        operations: Operations,
    ) -> Self {
        DataPlane {
            proxy,
            balancer,
            results,
            spending,
            operations,
        }
    }

    /// The same data plane with connections to instances of its own, for one REST worker.
    pub fn for_worker(&self) -> Self {
        DataPlane {
            proxy: self.proxy.for_worker(),
            ..self.clone()
        }
    }
}

impl FromRef<AppState> for DataPlane {
    fn from_ref(state: &AppState) -> Self {
        state.data_plane.clone()
    }
}
