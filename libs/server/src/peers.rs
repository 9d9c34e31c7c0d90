//! The other services a service calls.

use std::collections::BTreeMap;
use std::time::Duration;

use gpuproxy_config::{PeersConfig, ServiceSpec};

use crate::{GrpcChannel, connect_lazy};

/// How long a connection to another service may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Channels to the other services of the fleet, by their row of the service table: connections in
/// the fleet, in-process channels when they run in the same process. Also carries the APIs that a
/// service in the same process offers to be called directly, with no encoding at all.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    channels: BTreeMap<&'static str, GrpcChannel>,
    direct: http::Extensions,
}

impl Peers {
    /// Returns no peers at all.
    pub fn new() -> Self {
        Peers::default()
    }

    /// Returns a channel to every service of the table at its configured URL. Each connects on first
    /// use and reconnects by itself, so a service that starts later than its clients is fine.
    pub fn remote(config: &PeersConfig) -> anyhow::Result<Self> {
        let mut peers = Peers::new();
        for (spec, url) in &config.urls {
            let channel = connect_lazy(url, CONNECT_TIMEOUT, config.internal_token.as_ref())
                .map_err(|error| anyhow::anyhow!("{}={url}: {error}", spec.url_variable))?;
            peers.insert(spec, channel);
        }
        Ok(peers)
    }

    /// Adds (or replaces) the channel to `service`.
    pub fn insert(&mut self, service: &'static ServiceSpec, channel: GrpcChannel) {
        self.channels.insert(service.name, channel);
    }

    /// Returns the channel to `service` when it is known.
    pub fn get(&self, service: &ServiceSpec) -> Option<GrpcChannel> {
        self.channels.get(service.name).cloned()
    }

    /// Returns the channel to `service`, or says which variable would have named it.
    pub fn channel(&self, service: &ServiceSpec) -> anyhow::Result<GrpcChannel> {
        self.get(service).ok_or_else(|| {
            anyhow::anyhow!(
                "the {} is not reachable from this process (set {})",
                service.title,
                service.url_variable
            )
        })
    }

    /// Offers `api` to the services built after this one in the same process.
    pub fn offer_direct<T: Clone + Send + Sync + 'static>(&mut self, api: T) {
        self.direct.insert(api);
    }

    /// Returns the API of type `T` a service in this process offered, if any.
    pub fn direct<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.direct.get::<T>().cloned()
    }
}
