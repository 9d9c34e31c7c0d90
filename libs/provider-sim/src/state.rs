//! The state every handler shares: both markets, faults, recordings and the task tracker.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::RngExt;
use rand::rngs::StdRng;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::ionet::IonetMarket;
use crate::lifecycle::{ActualStatus, DeploymentStatus, Timing};
use crate::market::seeded_rng;
use crate::provider::{PerProvider, SimProvider};
use crate::recorder::RecordedRequest;
use crate::upstream::UpstreamTarget;
use crate::vastai::VastMarket;

/// Stream number of the generator that decides injected 500s.
const FAULT_RNG_STREAM: u64 = 3;

/// The state behind an `Arc`, cloned into every handler.
pub(crate) type SharedState = Arc<SimState>;

/// Everything a running simulator knows; every lock is held only for a few statements.
#[derive(Debug)]
pub(crate) struct SimState {
    pub(crate) config: SimConfig,
    pub(crate) timing: Timing,
    pub(crate) vastai: Mutex<VastMarket>,
    pub(crate) ionet: Mutex<IonetMarket>,
    /// Spawns the API server and every upstream server so that shutdown can wait for them.
    pub(crate) tasks: TaskTracker,
    /// Cancelled once on shutdown; every upstream listener holds a child token.
    pub(crate) shutdown: CancellationToken,
    faults: PerProvider<Mutex<Faults>>,
    requests: PerProvider<Mutex<Vec<RecordedRequest>>>,
    fault_rng: Mutex<StdRng>,
    /// Extra time each instance's upstream takes to answer, by instance id: a slow GPU.
    upstream_delays: Mutex<std::collections::HashMap<String, Duration>>,
}

/// The state plus the provider whose routes a middleware guards.
#[derive(Clone, Debug)]
pub(crate) struct ProviderContext {
    pub(crate) state: SharedState,
    pub(crate) provider: SimProvider,
}

impl SimState {
    /// Generates both markets from the config's seed.
    pub(crate) fn new(config: SimConfig) -> Self {
        Self {
            timing: Timing::new(config.loading_after, config.running_after),
            vastai: Mutex::new(VastMarket::generate(config.seed, config.vastai_offers)),
            ionet: Mutex::new(IonetMarket::generate(
                config.seed,
                config.ionet_devices,
                config.ionet_credits_usd,
            )),
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
            faults: PerProvider::default(),
            requests: PerProvider::default(),
            fault_rng: Mutex::new(seeded_rng(config.seed, FAULT_RNG_STREAM)),
            upstream_delays: Mutex::new(std::collections::HashMap::new()),
            config,
        }
    }

    /// Returns the provider's current faults.
    pub(crate) fn faults(&self, provider: SimProvider) -> Faults {
        lock(self.faults.get(provider)).clone()
    }

    /// Replaces the provider's faults.
    pub(crate) fn set_faults(&self, provider: SimProvider, faults: Faults) {
        *lock(self.faults.get(provider)) = faults.sanitized();
    }

    /// Returns true, counting one down, when the provider still owes a 429.
    pub(crate) fn take_rate_limited(&self, provider: SimProvider) -> bool {
        let mut faults = lock(self.faults.get(provider));
        if faults.rate_limit_next == 0 {
            return false;
        }
        faults.rate_limit_next -= 1;
        true
    }

    /// Returns true with probability `error_rate`, drawn from the seeded fault generator.
    pub(crate) fn roll_server_error(&self, error_rate: f64) -> bool {
        error_rate > 0.0 && lock(&self.fault_rng).random::<f64>() < error_rate
    }

    /// Sleeps for `duration`, or less if the simulator shuts down first.
    pub(crate) async fn sleep_unless_shutdown(&self, duration: Duration) {
        tokio::select! {
            () = self.shutdown.cancelled() => {}
            () = tokio::time::sleep(duration) => {}
        }
    }

    /// Appends a request to the provider's recording.
    pub(crate) fn record(&self, provider: SimProvider, request: RecordedRequest) {
        lock(self.requests.get(provider)).push(request);
    }

    /// Returns the provider's recording, oldest first.
    pub(crate) fn requests(&self, provider: SimProvider) -> Vec<RecordedRequest> {
        lock(self.requests.get(provider)).clone()
    }

    /// Forgets both providers' recordings.
    pub(crate) fn clear_requests(&self) {
        lock(&self.requests.vastai).clear();
        lock(&self.requests.ionet).clear();
    }

    /// Returns the market's true size, ignoring faults: rentable vast offers or free io.net devices.
    pub(crate) fn offer_count(&self, provider: SimProvider) -> usize {
        match provider {
            SimProvider::VastAi => lock(&self.vastai).available_offer_count(),
            SimProvider::IoNet => lock(&self.ionet).free_device_count(Instant::now(), self.timing),
        }
    }

    /// Returns how many vast instances exist or io.net deployments are live.
    pub(crate) fn instance_count(&self, provider: SimProvider) -> usize {
        match provider {
            SimProvider::VastAi => lock(&self.vastai).instance_count(),
            SimProvider::IoNet => lock(&self.ionet).live_deployment_count(Instant::now(), self.timing),
        }
    }

    /// Makes instance `instance_id`'s upstream take `delay` longer to answer every request.
    pub(crate) fn set_upstream_delay(&self, instance_id: &str, delay: Duration) {
        lock(&self.upstream_delays).insert(instance_id.to_owned(), delay);
    }

    /// Returns the extra time instance `instance_id`'s upstream takes.
    pub(crate) fn upstream_delay(&self, instance_id: &str) -> Duration {
        lock(&self.upstream_delays)
            .get(instance_id)
            .copied()
            .unwrap_or_default()
    }

    /// Returns true when the instance behind an upstream listener is running and may answer.
    pub(crate) fn upstream_is_running(&self, target: &UpstreamTarget) -> bool {
        let now = Instant::now();
        match target {
            UpstreamTarget::VastAi { instance_id } => {
                lock(&self.vastai).actual_status(*instance_id, now, self.timing)
                    == Some(ActualStatus::Running)
            }
            UpstreamTarget::IoNet { deployment_id } => {
                lock(&self.ionet).deployment_status(deployment_id, now, self.timing)
                    == Some(DeploymentStatus::Running)
            }
        }
    }
}

/// Locks a mutex, recovering the data if a handler panicked while holding it: every critical section
/// leaves the data consistent between statements, so the simulator can carry on.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
