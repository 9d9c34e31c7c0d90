//! The catalog's use cases: list offers across providers, look one up, rent, inspect and destroy
//! instances, report provider health.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gpuproxy_domain::Provider;
use tokio_util::task::TaskTracker;

use crate::cache::OfferCache;
use crate::error::{Error, ProviderError};
use crate::instance::{CreateRequest, Instance};
use crate::offer::Offer;
use crate::providers::ProviderClient;
use crate::providers::breaker::BreakerState;
use crate::providers::metrics::ProviderMetrics;
use crate::query::Query;

/// A page of offers.
#[derive(Debug)]
pub struct Listing {
    /// The page.
    pub offers: Vec<Offer>,
    /// Offers matching the filters, all pages together.
    pub total: usize,
    /// Providers whose offers are missing or stale.
    pub degraded: Vec<Provider>,
    /// What happened to them.
    pub warnings: Vec<String>,
}

/// One provider's health.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderHealth {
    /// The provider.
    pub provider: Provider,
    /// Whether it has a key (or the simulator stands in).
    pub enabled: bool,
    /// `ok`, `degraded`, `open` or `disabled`.
    pub state: &'static str,
    /// The breaker.
    pub breaker: &'static str,
    /// Cached offers.
    pub offers: usize,
    /// Age of the cached offers.
    pub offers_age: Option<Duration>,
    /// Average recent latency, ms.
    pub avg_latency_ms: f64,
    /// Share of recent calls that failed.
    pub error_rate: f64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Whether the provider is the local simulator.
    pub simulated: bool,
    /// Its base URL.
    pub base_url: String,
}

/// The catalog. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Catalog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    caches: BTreeMap<Provider, OfferCache>,
    list_timeout: Duration,
    simulated: bool,
}

impl Catalog {
    /// Returns a catalog over the configured `clients` (providers without a key have none).
    pub fn new(
        clients: Vec<ProviderClient>,
        ttl: Duration,
        list_timeout: Duration,
        simulated: bool,
        metrics: ProviderMetrics,
        tracker: TaskTracker,
    ) -> Self {
        let caches = clients
            .into_iter()
            .map(|client| {
                (
                    client.provider(),
                    OfferCache::new(client, ttl, tracker.clone(), metrics.clone()),
                )
            })
            .collect();
        Catalog {
            inner: Arc::new(Inner {
                caches,
                list_timeout,
                simulated,
            }),
        }
    }

    fn cache(&self, provider: Provider) -> Result<&OfferCache, Error> {
        self.inner
            .caches
            .get(&provider)
            .ok_or(Error::Provider(ProviderError::Disabled(provider)))
    }

    /// Starts a refresh of every provider (at start-up, so that the first listing is warm).
    pub fn warm(&self) {
        for cache in self.inner.caches.values() {
            drop(cache.refresh());
        }
    }

    /// Empties every cache.
    pub fn clear_cache(&self) {
        for cache in self.inner.caches.values() {
            cache.clear();
        }
    }

    /// Lists offers matching `query` from every provider it names, all queried at once. A provider
    /// that fails or is slow is named in `warnings`; the others' offers are listed regardless.
    pub async fn list(&self, query: &Query) -> Listing {
        let wanted: Vec<Provider> = match query.provider {
            Some(provider) => vec![provider],
            None => Provider::ALL.to_vec(),
        };
        let mut warnings = Vec::new();
        let mut degraded = Vec::new();
        let mut fetches = Vec::new();
        for provider in wanted {
            match self.inner.caches.get(&provider) {
                Some(cache) => {
                    fetches.push(async move { (provider, cache.offers(self.inner.list_timeout).await) })
                }
                // Asked for by name but off: say so. Off and not asked for: silence, it is configuration.
                None if query.provider.is_some() => {
                    degraded.push(provider);
                    warnings.push(ProviderError::Disabled(provider).to_string());
                }
                None => {}
            }
        }
        let fetched = futures::future::join_all(fetches).await;
        let mut snapshots = Vec::new();
        for (provider, fetched) in fetched {
            if let Some(warning) = fetched.warning {
                degraded.push(provider);
                warnings.push(warning);
            }
            if let Some(snapshot) = fetched.snapshot {
                snapshots.push(snapshot);
            }
        }
        let (page, total) = query.apply(snapshots.iter().flat_map(|snapshot| snapshot.offers.iter()));
        Listing {
            offers: page.into_iter().cloned().collect(),
            total,
            degraded,
            warnings,
        }
    }

    /// Returns one offer: from the cache when it is there, else from the provider.
    pub async fn get_offer(&self, provider: Provider, offer_id: &str) -> Result<Offer, Error> {
        let cache = self.cache(provider)?;
        if let Some(snapshot) = cache.cached()
            && let Some(offer) = snapshot.offers.iter().find(|offer| offer.offer_id == offer_id)
        {
            return Ok(offer.clone());
        }
        cache.client().find_offer(offer_id).await?.ok_or_else(|| {
            Error::Provider(ProviderError::NotFound {
                provider,
                what: "offer",
                id: offer_id.to_owned(),
            })
        })
    }

    /// Rents an offer and returns the new instance as `pending`; `get_instance` follows it.
    pub async fn create_instance(
        &self,
        provider: Provider,
        request: &CreateRequest,
    ) -> Result<Instance, Error> {
        gpuproxy_domain::launch::check_image(&request.image)
            .map_err(|refused| Error::invalid(refused.field, refused.reason))?;
        let cache = self.cache(provider)?;
        let created = cache.client().create_instance(request).await;
        if let Err(ProviderError::OfferGone { .. }) = &created {
            cache.forget(&request.offer_id);
        }
        let instance_id = created?;
        cache.forget(&request.offer_id);
        tracing::info!(%provider, offer_id = request.offer_id, instance_id, "instance created");
        // No look at the new instance here: it would double the time of every rent, and callers
        // follow instances to running anyway.
        Ok(Instance {
            provider,
            instance_id,
            status: crate::instance::InstanceStatus::Pending,
            provider_status: String::new(),
            public_host: None,
            endpoints: BTreeMap::new(),
            label: request.label.clone(),
        })
    }

    /// Returns one instance.
    pub async fn get_instance(&self, provider: Provider, instance_id: &str) -> Result<Instance, Error> {
        Ok(self.cache(provider)?.client().get_instance(instance_id).await?)
    }

    /// Lists our instances at one provider.
    pub async fn list_instances(&self, provider: Provider) -> Result<Vec<Instance>, Error> {
        Ok(self.cache(provider)?.client().list_instances().await?)
    }

    /// Destroys an instance.
    pub async fn destroy_instance(&self, provider: Provider, instance_id: &str) -> Result<(), Error> {
        self.cache(provider)?
            .client()
            .destroy_instance(instance_id)
            .await?;
        tracing::info!(%provider, instance_id, "instance destroyed");
        Ok(())
    }

    /// Returns every provider's health, the disabled ones included.
    pub fn health(&self) -> Vec<ProviderHealth> {
        Provider::ALL
            .into_iter()
            .map(|provider| match self.inner.caches.get(&provider) {
                None => ProviderHealth {
                    provider,
                    enabled: false,
                    state: "disabled",
                    breaker: BreakerState::Closed.as_str(),
                    offers: 0,
                    offers_age: None,
                    avg_latency_ms: 0.0,
                    error_rate: 0.0,
                    last_error: None,
                    simulated: false,
                    base_url: String::new(),
                },
                Some(cache) => {
                    let http = cache.client().http();
                    let breaker = http.breaker().state();
                    let figures = http.stats().snapshot();
                    let snapshot = cache.cached();
                    let refresh_error = cache.last_error();
                    let state = match breaker {
                        BreakerState::Open => "open",
                        _ if refresh_error.is_some() => "degraded",
                        _ => "ok",
                    };
                    ProviderHealth {
                        provider,
                        enabled: true,
                        state,
                        breaker: breaker.as_str(),
                        offers: snapshot.as_ref().map_or(0, |snapshot| snapshot.offers.len()),
                        offers_age: snapshot.map(|snapshot| snapshot.fetched_at.elapsed()),
                        avg_latency_ms: figures.avg_latency_ms,
                        error_rate: figures.error_rate,
                        last_error: refresh_error
                            .map(|error| error.to_string())
                            .or(figures.last_error),
                        simulated: self.inner.simulated,
                        base_url: http.base_url().to_owned(),
                    }
                }
            })
            .collect()
    }
}
