//! Recent-call figures of one provider, for health reports.

use std::sync::{Arc, Mutex, PoisonError};

/// How much one call moves the averages: about the last 20 calls count.
const WEIGHT: f64 = 0.1;

/// Exponentially weighted latency and error rate, and the last error.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    inner: Arc<Mutex<Figures>>,
}

/// A snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Average latency, ms.
    pub avg_latency_ms: f64,
    /// Share of recent calls that failed.
    pub error_rate: f64,
    /// The last failure's message.
    pub last_error: Option<String>,
    /// Calls seen.
    pub calls: u64,
}

impl Stats {
    /// Records one attempt.
    pub fn record(&self, seconds: f64, ok: bool, error: Option<String>) {
        let mut figures = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let latency_ms = seconds * 1000.0;
        let failed = if ok { 0.0 } else { 1.0 };
        if figures.calls == 0 {
            figures.avg_latency_ms = latency_ms;
            figures.error_rate = failed;
        } else {
            figures.avg_latency_ms += WEIGHT * (latency_ms - figures.avg_latency_ms);
            figures.error_rate += WEIGHT * (failed - figures.error_rate);
        }
        figures.calls += 1;
        if error.is_some() {
            figures.last_error = error;
        }
    }

    /// Returns the current figures.
    pub fn snapshot(&self) -> Figures {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
