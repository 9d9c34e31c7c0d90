//! DNS resolution that refuses non-public addresses at connect time, so DNS rebinding cannot slip past a
//! check made earlier: the addresses checked are the addresses connected to.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::error::Error;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::address::{AddressClass, classify_address};
use crate::policy::EgressPolicy;

/// Where hostnames are looked up.
#[derive(Debug, Clone, Default)]
pub enum Lookup {
    /// The system resolver (`getaddrinfo`, through `tokio::net::lookup_host`).
    #[default]
    System,
    /// A fixed table from lower-case hostname to addresses, so tests never touch the network. Names missing
    /// from the table fail to resolve.
    Static(HashMap<String, Vec<IpAddr>>),
}

/// A [`reqwest::dns::Resolve`] that fails with [`RefusedAddress`] when any address a name resolves to is
/// forbidden and not covered by a port-less address or network allow rule.
///
/// Refusing on any bad address, rather than filtering, gives a name that mixes public and private records
/// no second chance (happy-eyeballs fallback would otherwise pick the private one).
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    /// Shared with the client's other resolver.
    lookup: Arc<Lookup>,
    /// Consulted for address and network rules only; named hosts never reach this resolver.
    policy: Arc<EgressPolicy>,
}

/// Says that a hostname resolved to an address outbound requests must not reach.
///
/// Reqwest wraps it in its own error; [`RefusedAddress::find_in`] digs it out again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} resolves to {address}, {class}")]
pub struct RefusedAddress {
    /// The name that was being resolved.
    pub host: String,
    /// The first forbidden address among the results.
    pub address: IpAddr,
    /// Which forbidden range the address is in.
    pub class: AddressClass,
}

/// A resolver that trusts every answer; used for allow-listed hosts so they share the client's [`Lookup`].
#[derive(Debug, Clone)]
pub(crate) struct TrustingResolver {
    lookup: Arc<Lookup>,
}

impl Lookup {
    /// Returns the addresses `host` resolves to.
    pub async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        match self {
            Lookup::System => {
                // Port 0 tells reqwest to substitute the URL's port.
                let addresses = tokio::net::lookup_host((host, 0)).await?;
                Ok(addresses.map(|address| address.ip()).collect())
            }
            Lookup::Static(table) => table.get(&host.to_ascii_lowercase()).cloned().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host} is not in the static lookup table"),
                )
            }),
        }
    }
}

impl GuardedResolver {
    /// Creates a resolver that looks names up with `lookup` and refuses what `policy` does not admit.
    pub fn new(lookup: Arc<Lookup>, policy: Arc<EgressPolicy>) -> Self {
        GuardedResolver { lookup, policy }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = Arc::clone(&self.lookup);
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses = lookup.resolve(&host).await?;
            if let Some(refusal) = first_refused(&host, &addresses, &policy) {
                tracing::debug!(host, address = %refusal.address, class = %refusal.class, "refused resolved address");
                return Err(refusal.into());
            }
            Ok(into_addrs(addresses))
        })
    }
}

impl RefusedAddress {
    /// Returns the refusal behind `error`, looking at the error itself and then down its `source()` chain.
    pub fn find_in<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a RefusedAddress> {
        let mut current = Some(error);
        while let Some(error) = current {
            if let Some(refusal) = error.downcast_ref::<RefusedAddress>() {
                return Some(refusal);
            }
            current = error.source();
        }
        None
    }
}

impl TrustingResolver {
    pub(crate) fn new(lookup: Arc<Lookup>) -> Self {
        TrustingResolver { lookup }
    }
}

impl Resolve for TrustingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = Arc::clone(&self.lookup);
        let host = name.as_str().to_owned();
        Box::pin(async move { Ok(into_addrs(lookup.resolve(&host).await?)) })
    }
}

fn first_refused(host: &str, addresses: &[IpAddr], policy: &EgressPolicy) -> Option<RefusedAddress> {
    addresses.iter().find_map(|&address| {
        let class = classify_address(address)?;
        if policy.admits_resolved_address(address) {
            return None;
        }
        Some(RefusedAddress {
            host: host.to_owned(),
            address,
            class,
        })
    })
}

fn into_addrs(addresses: Vec<IpAddr>) -> Addrs {
    Box::new(addresses.into_iter().map(|address| SocketAddr::new(address, 0)))
}
