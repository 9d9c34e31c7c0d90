//! What the balancer knows about one instance's traffic and health.

use std::time::{Duration, Instant};

/// How much a new response time counts in the moving average.
const RESPONSE_TIME_SMOOTHING: f64 = 0.3;
/// How much a new outcome counts in the moving failure rate.
const FAILURE_SMOOTHING: f64 = 0.1;

/// Traffic and health of one instance, kept in memory by the reservation service.
#[derive(Debug, Clone, Default)]
pub struct Load {
    /// Requests picked for it that have not reported back.
    pub active: u32,
    /// Requests picked for it, ever.
    pub total: u64,
    /// Requests that reported a failure, ever.
    pub failed: u64,
    /// Moving average of response times, ms; `None` before the first answer.
    pub avg_response_ms: Option<f64>,
    /// The last response time, ms.
    pub last_response_ms: f64,
    /// Unix ms of the last pick or report.
    pub last_used_ms: Option<i64>,
    /// Moving share of failed requests, 0..1.
    pub failure_rate: f64,
    /// Failures in a row; reset by a success.
    pub consecutive_failures: u32,
    /// Out of the rotation until then (a failed probe or too many failures in a row).
    pub unhealthy_until: Option<Instant>,
}

impl Load {
    /// Returns whether the instance may be picked at `now`. After its cooldown an unhealthy instance
    /// is eligible again, so that one request (or the next probe) can show it recovered.
    pub fn is_eligible(&self, now: Instant) -> bool {
        self.unhealthy_until.is_none_or(|until| until <= now)
    }

    /// Returns whether the instance is marked healthy (for reports).
    pub fn is_healthy(&self, now: Instant) -> bool {
        self.is_eligible(now)
    }

    /// Counts a request picked for the instance.
    pub fn start(&mut self, now_ms: i64) {
        self.active = self.active.saturating_add(1);
        self.total = self.total.saturating_add(1);
        self.last_used_ms = Some(now_ms);
    }

    /// Ends a request: its outcome and response time.
    pub fn finish(
        &mut self,
        success: bool,
        latency: Duration,
        settings: Unhealthy,
        now: Instant,
        now_ms: i64,
    ) {
        self.active = self.active.saturating_sub(1);
        self.sample(success, latency, settings, now, now_ms);
    }

    /// Records a request that was never counted in flight (sent to the instance by URL).
    pub fn observe(
        &mut self,
        success: bool,
        latency: Duration,
        settings: Unhealthy,
        now: Instant,
        now_ms: i64,
    ) {
        self.total = self.total.saturating_add(1);
        self.sample(success, latency, settings, now, now_ms);
    }

    fn sample(&mut self, success: bool, latency: Duration, settings: Unhealthy, now: Instant, now_ms: i64) {
        self.last_used_ms = Some(now_ms);
        let ms = latency.as_secs_f64() * 1000.0;
        self.last_response_ms = ms;
        self.avg_response_ms = Some(match self.avg_response_ms {
            None => ms,
            Some(avg) => avg + RESPONSE_TIME_SMOOTHING * (ms - avg),
        });
        let outcome = if success { 0.0 } else { 1.0 };
        self.failure_rate += FAILURE_SMOOTHING * (outcome - self.failure_rate);
        if success {
            self.consecutive_failures = 0;
            self.unhealthy_until = None;
        } else {
            self.failed = self.failed.saturating_add(1);
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            if self.consecutive_failures >= settings.after {
                self.unhealthy_until = Some(now + settings.cooldown);
            }
        }
    }

    /// Records a health probe.
    pub fn probed(&mut self, healthy: bool, settings: Unhealthy, now: Instant) {
        self.unhealthy_until = if healthy {
            None
        } else {
            Some(now + settings.cooldown)
        };
        if healthy {
            self.consecutive_failures = 0;
        }
    }
}

/// When failures take an instance out of the rotation, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct Unhealthy {
    /// Consecutive failures.
    pub after: u32,
    /// How long it stays out.
    pub cooldown: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: Unhealthy = Unhealthy {
        after: 3,
        cooldown: Duration::from_secs(30),
    };

    #[test]
    fn three_failures_in_a_row_take_an_instance_out_until_its_cooldown_ends() {
        let now = Instant::now();
        let mut load = Load::default();
        for _ in 0..2 {
            load.start(0);
            load.finish(false, Duration::from_millis(5), SETTINGS, now, 0);
        }
        assert!(load.is_eligible(now), "two failures are not enough");
        load.start(0);
        load.finish(false, Duration::from_millis(5), SETTINGS, now, 0);
        assert!(!load.is_eligible(now + Duration::from_secs(29)));
        assert!(
            load.is_eligible(now + Duration::from_secs(30)),
            "tried again after the cooldown"
        );
        load.start(0);
        load.finish(true, Duration::from_millis(5), SETTINGS, now, 0);
        assert!(load.is_eligible(now), "a success brings it back at once");
        assert_eq!((load.total, load.failed, load.active), (4, 3, 0));
    }

    #[test]
    fn the_average_follows_recent_response_times() {
        let now = Instant::now();
        let mut load = Load::default();
        load.finish(true, Duration::from_millis(10), SETTINGS, now, 0);
        assert_eq!(load.avg_response_ms, Some(10.0));
        for _ in 0..20 {
            load.finish(true, Duration::from_millis(100), SETTINGS, now, 0);
        }
        assert!(load.avg_response_ms.expect("an average") > 95.0);
    }
}
