//! The `fail_next(status, times)` test hook shared by the fakes.

use std::sync::Mutex;
use std::sync::PoisonError;

/// Counts down injected failures: the next `times` POSTs answer `status` without executing.
#[derive(Debug, Default)]
pub(crate) struct FailNext {
    /// The status to answer and how many more POSTs answer it; `times == 0` means healthy.
    pending: Mutex<(u16, usize)>,
}

impl FailNext {
    /// Makes the next `times` POSTs answer `status`, replacing any earlier setting.
    pub(crate) fn set(&self, status: u16, times: usize) {
        *self.pending.lock().unwrap_or_else(PoisonError::into_inner) = (status, times);
    }

    /// Returns the status this POST must answer, if a failure is pending, and counts it down.
    pub(crate) fn take(&self) -> Option<u16> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let (status, times) = *pending;
        if times == 0 {
            return None;
        }
        *pending = (status, times - 1);
        Some(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_count_down_to_healthy() {
        let fail_next = FailNext::default();
        fail_next.set(503, 2);
        assert_eq!(fail_next.take(), Some(503));
        assert_eq!(fail_next.take(), Some(503));
        assert_eq!(fail_next.take(), None);
    }
}
