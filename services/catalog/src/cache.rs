//! One provider's offers cache: fresh for a TTL, then served stale while one refresh runs in the
//! background. Concurrent listings share that refresh instead of each calling the provider.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tokio_util::task::TaskTracker;

use crate::error::ProviderError;
use crate::offer::Offer;
use crate::providers::ProviderClient;
use crate::providers::metrics::ProviderMetrics;

/// Offers fetched together.
#[derive(Debug)]
pub struct Snapshot {
    /// The offers.
    pub offers: Vec<Offer>,
    /// When they were fetched.
    pub fetched_at: Instant,
}

type Refresh = Shared<BoxFuture<'static, Result<Arc<Snapshot>, ProviderError>>>;

/// What a listing gets from one provider.
#[derive(Debug)]
pub struct Fetched {
    /// Offers to list, possibly stale.
    pub snapshot: Option<Arc<Snapshot>>,
    /// Why the provider's offers are missing or old.
    pub warning: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    snapshot: Option<Arc<Snapshot>>,
    /// The running refresh and when it started.
    refreshing: Option<(Refresh, Instant)>,
    last_error: Option<ProviderError>,
    /// No refresh starts before this: the last one was rate limited or refused.
    blocked_until: Option<Instant>,
}

/// The cache of one provider.
#[derive(Debug, Clone)]
pub struct OfferCache {
    client: ProviderClient,
    ttl: Duration,
    state: Arc<Mutex<State>>,
    tracker: TaskTracker,
    metrics: ProviderMetrics,
}

impl OfferCache {
    /// Returns an empty cache over `client`.
    pub fn new(
        client: ProviderClient,
        ttl: Duration,
        tracker: TaskTracker,
        metrics: ProviderMetrics,
    ) -> Self {
        OfferCache {
            client,
            ttl,
            state: Arc::default(),
            tracker,
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns the client.
    pub fn client(&self) -> &ProviderClient {
        &self.client
    }

    /// Returns the cached offers without refreshing.
    pub fn cached(&self) -> Option<Arc<Snapshot>> {
        self.lock().snapshot.clone()
    }

    /// Returns the last refresh's error, if the last refresh failed.
    pub fn last_error(&self) -> Option<ProviderError> {
        self.lock().last_error.clone()
    }

    /// Returns offers for a listing: fresh ones at once; stale ones at once while a refresh starts;
    /// with nothing cached, waits for a refresh up to `wait`.
    pub async fn offers(&self, wait: Duration) -> Fetched {
        let provider = self.client.provider();
        let (snapshot, last_error, blocked) = {
            let state = self.lock();
            let blocked = state
                .blocked_until
                .map(|until| until.saturating_duration_since(Instant::now()))
                .filter(|left| !left.is_zero());
            (state.snapshot.clone(), state.last_error.clone(), blocked)
        };
        match snapshot {
            Some(snapshot) if snapshot.fetched_at.elapsed() < self.ttl => Fetched {
                snapshot: Some(snapshot),
                warning: None,
            },
            Some(snapshot) => {
                if blocked.is_none() {
                    drop(self.refresh());
                }
                let warning = last_error.map(|error| {
                    format!(
                        "{provider}: showing offers from {}s ago; refreshing failed: {error}",
                        snapshot.fetched_at.elapsed().as_secs()
                    )
                });
                Fetched {
                    snapshot: Some(snapshot),
                    warning,
                }
            }
            // Every listing waits for the same deadline, counted from the refresh's start: when a
            // provider hangs, the first listing waits `wait` and the ones after it do not wait again.
            None if blocked.is_some() => Fetched {
                snapshot: None,
                warning: Some(format!(
                    "{provider}: offers unavailable: {}; next try in {}s",
                    last_error.map_or_else(|| "backing off".to_owned(), |error| error.to_string()),
                    blocked.unwrap_or_default().as_secs().max(1)
                )),
            },
            None => match tokio::time::timeout(self.remaining_wait(wait), self.refresh()).await {
                Ok(Ok(snapshot)) => Fetched {
                    snapshot: Some(snapshot),
                    warning: None,
                },
                Ok(Err(error)) => Fetched {
                    snapshot: None,
                    warning: Some(format!("{provider}: offers unavailable: {error}")),
                },
                Err(_) => Fetched {
                    snapshot: None,
                    warning: Some(format!(
                        "{provider}: offers unavailable: no answer within {}ms; they will be listed once it answers",
                        wait.as_millis()
                    )),
                },
            },
        }
    }

    fn remaining_wait(&self, wait: Duration) -> Duration {
        match &self.lock().refreshing {
            Some((_, started)) => wait.saturating_sub(started.elapsed()),
            None => wait,
        }
    }

    /// Starts a refresh unless one is running, and returns it. The refresh runs as its own task, so
    /// it completes (and fills the cache) even when every caller stopped waiting.
    pub fn refresh(&self) -> Refresh {
        let mut state = self.lock();
        if let Some((running, _)) = &state.refreshing {
            return running.clone();
        }
        let this = self.clone();
        let refresh: Refresh = async move {
            let result = this.client.search_offers().await;
            let mut state = this.lock();
            state.refreshing = None;
            match result {
                Ok(offers) => {
                    this.metrics.set_offers(this.client.provider(), offers.len());
                    let snapshot = Arc::new(Snapshot {
                        offers,
                        fetched_at: Instant::now(),
                    });
                    state.snapshot = Some(Arc::clone(&snapshot));
                    state.last_error = None;
                    state.blocked_until = None;
                    Ok(snapshot)
                }
                Err(error) => {
                    tracing::warn!(provider = %this.client.provider(), %error, "refreshing offers failed");
                    state.blocked_until = error.back_off_for().map(|wait| Instant::now() + wait);
                    state.last_error = Some(error.clone());
                    Err(error)
                }
            }
        }
        .boxed()
        .shared();
        state.refreshing = Some((refresh.clone(), Instant::now()));
        drop(state);
        let driven = refresh.clone();
        self.tracker.spawn(async move {
            let _ = driven.await;
        });
        refresh
    }

    /// Drops an offer from the cached snapshot (it was just rented), so that listings stop showing it
    /// before the next refresh.
    pub fn forget(&self, offer_id: &str) {
        let mut state = self.lock();
        if let Some(snapshot) = &state.snapshot
            && snapshot.offers.iter().any(|offer| offer.offer_id == offer_id)
        {
            let offers = snapshot
                .offers
                .iter()
                .filter(|offer| offer.offer_id != offer_id)
                .cloned()
                .collect();
            state.snapshot = Some(Arc::new(Snapshot {
                offers,
                fetched_at: snapshot.fetched_at,
            }));
        }
    }

    /// Empties the cache (benchmarks of cold listings, tests).
    pub fn clear(&self) {
        let mut state = self.lock();
        state.snapshot = None;
        state.last_error = None;
        state.blocked_until = None;
    }
}
