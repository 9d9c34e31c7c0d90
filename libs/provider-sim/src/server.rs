//! The simulator's lifecycle: one listener for both APIs and the admin routes, started and stopped
//! from outside.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use http::{StatusCode, Uri};
use serde_json::json;
use tokio::net::TcpListener;

use crate::config::SimConfig;
use crate::error::SimError;
use crate::faults::Faults;
use crate::provider::SimProvider;
use crate::recorder::RecordedRequest;
use crate::state::{SharedState, SimState};
use crate::{admin, ionet, vastai};

/// How long shutdown waits for open connections (streams, hanging requests) to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// A running simulator; clones share it, and any clone can shut it down.
#[derive(Clone)]
pub struct Simulator {
    state: SharedState,
    address: SocketAddr,
}

impl Simulator {
    /// Starts serving both provider APIs and the admin routes on `listener` (port 0 is fine).
    pub async fn start(config: SimConfig, listener: TcpListener) -> Result<Simulator, SimError> {
        let address = listener.local_addr().map_err(SimError::ListenerAddress)?;
        let state: SharedState = Arc::new(SimState::new(config));
        let app = Router::new()
            .merge(vastai::router(Arc::clone(&state)))
            .merge(ionet::router(Arc::clone(&state)))
            .merge(admin::router())
            .fallback(not_found)
            .with_state(Arc::clone(&state));
        let stop = state.shutdown.clone().cancelled_owned();
        state.tasks.spawn(async move {
            if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
                tracing::error!(%error, "provider simulator server failed");
            }
        });
        tracing::info!(%address, seed = state.config.seed, "provider simulator started");
        Ok(Self { state, address })
    }

    /// Returns `http://127.0.0.1:PORT`, the base URL of both providers' clients.
    pub fn base_url(&self) -> String {
        let ip = match self.address.ip() {
            // A wildcard bind is reachable on loopback, and a wildcard is no address to connect to.
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.address.port()))
    }

    /// Replaces the provider's faults; `error_rate` is clamped to 0..=1.
    pub fn set_faults(&self, provider: SimProvider, faults: Faults) {
        self.state.set_faults(provider, faults);
    }

    /// Returns the provider's current faults, with `rate_limit_next` as far as it has counted down.
    pub fn faults(&self, provider: SimProvider) -> Faults {
        self.state.faults(provider)
    }

    /// Returns every API request the provider received since start or the last clear, oldest first.
    pub fn requests(&self, provider: SimProvider) -> Vec<RecordedRequest> {
        self.state.requests(provider)
    }

    /// Forgets the recorded requests of both providers.
    pub fn clear_requests(&self) {
        self.state.clear_requests();
    }

    /// Returns the true market size, ignoring faults: rentable vast.ai offers, free io.net devices.
    pub fn offer_count(&self, provider: SimProvider) -> usize {
        self.state.offer_count(provider)
    }

    /// Makes one instance's upstream (vast.ai instance id or io.net deployment id) take `delay`
    /// longer to answer every request, as a slow or overloaded GPU would.
    pub fn set_upstream_delay(&self, instance_id: &str, delay: std::time::Duration) {
        self.state.set_upstream_delay(instance_id, delay);
    }

    /// Returns the vast.ai instances not destroyed, or the io.net deployments still live.
    pub fn instance_count(&self, provider: SimProvider) -> usize {
        self.state.instance_count(provider)
    }

    /// Stops the API server and every upstream listener, waiting briefly for open connections.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        self.state.tasks.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, self.state.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(timeout = ?DRAIN_TIMEOUT, "connections still open after the drain timeout");
        }
    }
}

impl fmt::Debug for Simulator {
    /// Shows the address only: the markets hold thousands of offers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

async fn not_found(uri: Uri) -> Response {
    let body = json!({"detail": "Not Found", "path": uri.path()});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
