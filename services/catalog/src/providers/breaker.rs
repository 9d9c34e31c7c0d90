//! A circuit breaker per provider: after enough consecutive failures, calls fail at once for a
//! cooldown, then one probe call decides whether to close it again.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::config::BreakerSettings;

/// The breaker's state as reported in health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls fail at once.
    Open,
    /// One probe call is allowed through.
    HalfOpen,
}

impl BreakerState {
    /// Returns the state as shown in health reports.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }

    /// Returns the metric value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> i64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen => 1,
            BreakerState::Open => 2,
        }
    }
}

/// A change worth announcing (event, log, gauge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The breaker opened: the provider is degraded.
    Opened,
    /// The breaker closed after a successful probe: the provider recovered.
    Closed,
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// The breaker; clones share state.
#[derive(Debug, Clone)]
pub struct Breaker {
    settings: BreakerSettings,
    state: Arc<Mutex<State>>,
}

/// Permission for one call. Dropping it unused (the caller gave up waiting) hands the probe slot
/// back, so a cancelled probe cannot leave the breaker half-open forever.
#[derive(Debug)]
pub struct Permit {
    breaker: Breaker,
    probe: bool,
    settled: bool,
}

impl Breaker {
    /// Returns a closed breaker.
    pub fn new(settings: BreakerSettings) -> Self {
        Breaker {
            settings,
            state: Arc::new(Mutex::new(State::Closed { failures: 0 })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns the current state.
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Lets a call through, or says how long until one will be.
    pub fn admit(&self) -> Result<Permit, Duration> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until } => {
                let now = Instant::now();
                if now < until {
                    return Err(until - now);
                }
                *state = State::HalfOpen { probing: true };
                true
            }
            State::HalfOpen { probing: false } => {
                *state = State::HalfOpen { probing: true };
                true
            }
            // Another call is probing: its outcome decides.
            State::HalfOpen { probing: true } => return Err(Duration::from_secs(1)),
        };
        drop(state);
        Ok(Permit {
            breaker: self.clone(),
            probe,
            settled: false,
        })
    }
}

impl Permit {
    /// The call worked: close the breaker.
    pub fn success(mut self) -> Option<Transition> {
        self.settled = true;
        let mut state = self.breaker.lock();
        let was_closed = matches!(*state, State::Closed { .. });
        *state = State::Closed { failures: 0 };
        (!was_closed).then_some(Transition::Closed)
    }

    /// The call failed in a way that says the provider is unhealthy.
    pub fn failure(mut self) -> Option<Transition> {
        self.settled = true;
        let settings = self.breaker.settings;
        let mut state = self.breaker.lock();
        let open = State::Open {
            until: Instant::now() + settings.cooldown,
        };
        match *state {
            State::Closed { failures } if failures + 1 >= settings.failure_threshold => {
                *state = open;
                Some(Transition::Opened)
            }
            State::Closed { failures } => {
                *state = State::Closed {
                    failures: failures + 1,
                };
                None
            }
            // A failed probe re-opens silently: the provider never recovered.
            State::HalfOpen { .. } | State::Open { .. } => {
                *state = open;
                None
            }
        }
    }

    /// The call ended without saying anything about the provider's health (a 4xx, a 429).
    pub fn neutral(mut self) {
        self.settled = true;
        self.release_probe();
    }

    fn release_probe(&self) {
        if self.probe {
            let mut state = self.breaker.lock();
            if let State::HalfOpen { probing: true } = *state {
                *state = State::HalfOpen { probing: false };
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.settled {
            self.release_probe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(cooldown: Duration) -> Breaker {
        Breaker::new(BreakerSettings {
            failure_threshold: 3,
            cooldown,
        })
    }

    #[test]
    fn it_opens_after_the_threshold_and_refuses_until_the_cooldown_ends() {
        let breaker = breaker(Duration::from_secs(60));
        assert_eq!(breaker.admit().expect("closed").failure(), None);
        assert_eq!(breaker.admit().expect("closed").failure(), None);
        assert_eq!(
            breaker.admit().expect("closed").failure(),
            Some(Transition::Opened)
        );
        assert_eq!(breaker.state(), BreakerState::Open);
        let wait = breaker.admit().expect_err("open");
        assert!(wait > Duration::from_secs(50), "{wait:?}");
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = breaker(Duration::from_secs(60));
        breaker.admit().expect("closed").failure();
        breaker.admit().expect("closed").failure();
        assert_eq!(breaker.admit().expect("closed").success(), None);
        breaker.admit().expect("closed").failure();
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn after_the_cooldown_one_probe_decides() {
        let breaker = breaker(Duration::ZERO);
        for _ in 0..3 {
            breaker.admit().expect("closed").failure();
        }
        let probe = breaker.admit().expect("a probe after the cooldown");
        breaker.admit().expect_err("only one probe at a time");
        assert_eq!(probe.success(), Some(Transition::Closed));
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_and_an_abandoned_probe_frees_its_slot() {
        let breaker = breaker(Duration::ZERO);
        for _ in 0..3 {
            breaker.admit().expect("closed").failure();
        }
        assert_eq!(breaker.admit().expect("probe").failure(), None);
        drop(breaker.admit().expect("probe after the zero cooldown"));
        let probe = breaker.admit().expect("the abandoned probe's slot is free");
        probe.neutral();
        assert!(breaker.admit().is_ok());
    }
}
