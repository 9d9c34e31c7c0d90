//! How elapsed time turns into the status strings each provider reports.
//!
//! Statuses are computed when read rather than advanced by timers, so no background task has to
//! run and a read always agrees with what the instance's upstream serves.

use std::time::{Duration, Instant};

/// The two delays of a simulated boot, from [`crate::SimConfig`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timing {
    loading_after: Duration,
    running_after: Duration,
}

impl Timing {
    /// Returns the timing of a config; loading never starts after running does.
    pub(crate) fn new(loading_after: Duration, running_after: Duration) -> Self {
        Self {
            loading_after: loading_after.min(running_after),
            running_after,
        }
    }

    /// Returns the time from create until instances run.
    pub(crate) fn running_after(&self) -> Duration {
        self.running_after
    }

    /// Returns how long an io.net deployment stays `"termination requested"` before `"destroyed"`;
    /// the loading delay is reused so that one knob makes the whole simulation faster.
    pub(crate) fn termination_delay(&self) -> Duration {
        self.loading_after
    }
}

/// What a vast.ai container is doing, as `actual_status` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ActualStatus {
    /// `null`: the host is scheduling the container.
    Scheduling,
    Loading,
    Running,
    Stopped,
}

impl ActualStatus {
    /// Returns the wire value of `actual_status`.
    pub(crate) fn as_wire(self) -> Option<&'static str> {
        match self {
            Self::Scheduling => None,
            Self::Loading => Some("loading"),
            Self::Running => Some("running"),
            Self::Stopped => Some("stopped"),
        }
    }
}

/// The run state of a vast.ai instance: what the user asked for, and since when.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunState {
    wants_running: bool,
    since: Instant,
    /// Boot time already behind the instance when `since` was set: a restart skips scheduling.
    head_start: Duration,
}

impl RunState {
    /// Returns the state of a freshly created instance.
    pub(crate) fn created(wants_running: bool, now: Instant) -> Self {
        Self {
            wants_running,
            since: now,
            head_start: Duration::ZERO,
        }
    }

    /// Returns `"running"` or `"stopped"`, the wire value of `intended_status`.
    pub(crate) fn intended(&self) -> &'static str {
        if self.wants_running { "running" } else { "stopped" }
    }

    /// Starts a stopped instance; it goes straight to loading because its GPUs stayed reserved.
    pub(crate) fn start(&mut self, now: Instant, timing: Timing) {
        if !self.wants_running {
            *self = Self {
                wants_running: true,
                since: now,
                head_start: timing.loading_after,
            };
        }
    }

    /// Stops the instance at once.
    pub(crate) fn stop(&mut self, now: Instant) {
        if self.wants_running {
            *self = Self {
                wants_running: false,
                since: now,
                head_start: Duration::ZERO,
            };
        }
    }

    /// Returns the container state at `now`.
    pub(crate) fn actual(&self, now: Instant, timing: Timing) -> ActualStatus {
        if !self.wants_running {
            return ActualStatus::Stopped;
        }
        let booted = now.saturating_duration_since(self.since) + self.head_start;
        if booted >= timing.running_after {
            ActualStatus::Running
        } else if booted >= timing.loading_after {
            ActualStatus::Loading
        } else {
            ActualStatus::Scheduling
        }
    }

    /// Returns how long the container has been running at `now`, if it is.
    pub(crate) fn uptime(&self, now: Instant, timing: Timing) -> Option<Duration> {
        let booted = now.saturating_duration_since(self.since) + self.head_start;
        (self.actual(now, timing) == ActualStatus::Running).then(|| booted - timing.running_after)
    }
}

/// The status of an io.net deployment, spelled as the `CaaSResourceStatus` enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DeploymentStatus {
    Running,
    Completed,
    DeploymentRequested,
    TerminationRequested,
    Destroyed,
}

impl DeploymentStatus {
    /// Every status in the order of the spec's filter enum.
    pub(crate) const ALL: [Self; 5] = [
        Self::Running,
        Self::Completed,
        Self::DeploymentRequested,
        Self::TerminationRequested,
        Self::Destroyed,
    ];

    /// Returns the wire spelling: lower case with spaces.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::DeploymentRequested => "deployment requested",
            Self::TerminationRequested => "termination requested",
            Self::Destroyed => "destroyed",
        }
    }

    /// Parses a wire spelling; `"failed"` is a valid filter that no simulated deployment reaches.
    pub(crate) fn parse_filter(value: &str) -> Option<Option<Self>> {
        if value == "failed" {
            return Some(None);
        }
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
            .map(Some)
    }

    /// Returns true while the deployment holds devices and credits.
    pub(crate) fn is_live(self) -> bool {
        matches!(self, Self::DeploymentRequested | Self::Running)
    }
}

/// The clock of an io.net deployment: created, prepaid for a while, maybe terminated.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeploymentClock {
    pub(crate) created: Instant,
    pub(crate) prepaid: Duration,
    pub(crate) terminated: Option<Instant>,
}

impl DeploymentClock {
    /// Returns the status at `now`.
    pub(crate) fn status(&self, now: Instant, timing: Timing) -> DeploymentStatus {
        if let Some(terminated) = self.terminated {
            return if now.saturating_duration_since(terminated) < timing.termination_delay() {
                DeploymentStatus::TerminationRequested
            } else {
                DeploymentStatus::Destroyed
            };
        }
        let elapsed = now.saturating_duration_since(self.created);
        if elapsed >= self.prepaid {
            DeploymentStatus::Completed
        } else if elapsed >= timing.running_after {
            DeploymentStatus::Running
        } else {
            DeploymentStatus::DeploymentRequested
        }
    }

    /// Returns the time containers have served at `now`: from running until the end.
    pub(crate) fn served(&self, now: Instant, timing: Timing) -> Duration {
        let end = self.terminated.unwrap_or(now).min(self.created + self.prepaid);
        end.saturating_duration_since(self.created)
            .saturating_sub(timing.running_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing() -> Timing {
        Timing::new(Duration::from_millis(200), Duration::from_secs(1))
    }

    #[test]
    fn a_new_instance_schedules_then_loads_then_runs() {
        let created = Instant::now();
        let run = RunState::created(true, created);
        assert_eq!(run.actual(created, timing()), ActualStatus::Scheduling);
        assert_eq!(
            run.actual(created + Duration::from_millis(500), timing()),
            ActualStatus::Loading
        );
        assert_eq!(
            run.actual(created + Duration::from_secs(2), timing()),
            ActualStatus::Running
        );
    }

    #[test]
    fn a_restarted_instance_skips_scheduling() {
        let created = Instant::now();
        let mut run = RunState::created(true, created);
        run.stop(created + Duration::from_secs(5));
        assert_eq!(
            run.actual(created + Duration::from_secs(5), timing()),
            ActualStatus::Stopped
        );
        run.start(created + Duration::from_secs(6), timing());
        assert_eq!(
            run.actual(created + Duration::from_secs(6), timing()),
            ActualStatus::Loading
        );
        assert_eq!(
            run.actual(created + Duration::from_secs(7), timing()),
            ActualStatus::Running
        );
    }

    #[test]
    fn loading_never_starts_after_running() {
        let quick = Timing::new(Duration::from_secs(5), Duration::from_millis(10));
        let run = RunState::created(true, Instant::now());
        assert_eq!(
            run.actual(Instant::now() + Duration::from_millis(20), quick),
            ActualStatus::Running
        );
    }

    #[test]
    fn a_deployment_runs_until_terminated_then_is_destroyed_shortly_after() {
        let created = Instant::now();
        let mut clock = DeploymentClock {
            created,
            prepaid: Duration::from_secs(3600),
            terminated: None,
        };
        assert_eq!(
            clock.status(created, timing()),
            DeploymentStatus::DeploymentRequested
        );
        assert_eq!(
            clock.status(created + Duration::from_secs(2), timing()),
            DeploymentStatus::Running
        );
        clock.terminated = Some(created + Duration::from_secs(3));
        let soon = created + Duration::from_millis(3100);
        assert_eq!(
            clock.status(soon, timing()),
            DeploymentStatus::TerminationRequested
        );
        assert_eq!(
            clock.status(created + Duration::from_secs(4), timing()),
            DeploymentStatus::Destroyed
        );
    }

    #[test]
    fn a_deployment_completes_when_its_prepaid_time_runs_out() {
        let created = Instant::now();
        let clock = DeploymentClock {
            created,
            prepaid: Duration::from_secs(3600),
            terminated: None,
        };
        let later = created + Duration::from_secs(3601);
        assert_eq!(clock.status(later, timing()), DeploymentStatus::Completed);
        assert_eq!(clock.served(later, timing()), Duration::from_secs(3599));
    }
}
