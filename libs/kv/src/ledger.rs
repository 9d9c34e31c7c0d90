//! Sliding-window ledgers: amounts appended with their time, summed over windows that end now.
//! The guard rails keep spending in one per user.

use std::collections::VecDeque;
use std::time::Duration;

/// One window of a ledger call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerWindow {
    /// How far back the window reaches from now.
    pub length: Duration,
    /// The most the window may hold after an append in [`LedgerMode::Reserve`]; 0 = no limit.
    pub limit: i64,
}

/// What a ledger call does besides summing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerMode {
    /// Only sums.
    Check,
    /// Appends the amount if every window with a limit stays within it, in the same atomic step as
    /// the check: concurrent callers can never push a window past its limit together.
    Reserve,
    /// Appends the amount whatever the limits (spending that already happened).
    Force,
}

/// The outcome of a ledger call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerOutcome {
    /// Whether the amount was appended.
    pub appended: bool,
    /// Each window's total before the append, in the order the windows were given.
    pub totals: Vec<i64>,
}

/// Milliseconds since the Unix epoch: Redis and every replica share this clock.
pub(crate) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The memory implementation: prunes, sums, decides and appends on one ledger under the caller's lock.
pub(crate) fn apply(
    entries: &mut VecDeque<(i64, i64)>,
    now: i64,
    amount: i64,
    windows: &[LedgerWindow],
    mode: LedgerMode,
) -> LedgerOutcome {
    let longest = windows
        .iter()
        .map(|window| millis(window.length))
        .max()
        .unwrap_or(1);
    while entries.front().is_some_and(|(at, _)| *at <= now - longest) {
        entries.pop_front();
    }
    let totals: Vec<i64> = windows
        .iter()
        .map(|window| {
            let start = now - millis(window.length);
            entries
                .iter()
                .filter(|(at, _)| *at > start)
                .map(|(_, value)| *value)
                .sum()
        })
        .collect();
    let fits = windows
        .iter()
        .zip(&totals)
        .all(|(window, total)| window.limit <= 0 || total.saturating_add(amount) <= window.limit);
    let appended = match mode {
        LedgerMode::Check => false,
        LedgerMode::Reserve => fits,
        LedgerMode::Force => true,
    };
    if appended {
        entries.push_back((now, amount));
    }
    LedgerOutcome { appended, totals }
}
