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

/// A ledger in memory: the amounts with their times, and when each window was last reset.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// `(time, amount)`, oldest first.
    entries: VecDeque<(i64, i64)>,
    /// `(window length, time)`: the window forgets every entry from before that time.
    resets: Vec<(i64, i64)>,
}

impl Ledger {
    /// Returns whether the ledger holds no amount (its reset marks alone forget nothing).
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Makes the window of `length` forget every entry from before `now`; the other windows keep theirs.
    pub(crate) fn reset_window(&mut self, now: i64, length: Duration) {
        let length = millis(length);
        self.resets.retain(|(window, _)| *window != length);
        self.resets.push((length, now));
    }

    /// The memory implementation of a ledger call: prunes, sums, decides and appends, under the
    /// caller's lock.
    pub(crate) fn apply(
        &mut self,
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
        while self.entries.front().is_some_and(|(at, _)| *at <= now - longest) {
            self.entries.pop_front();
        }
        self.resets.retain(|(_, at)| *at > now - longest);
        let totals: Vec<i64> = windows
            .iter()
            .map(|window| {
                let start = window_start(now, millis(window.length), &self.resets);
                self.entries
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
            self.entries.push_back((now, amount));
        }
        LedgerOutcome { appended, totals }
    }
}

/// Entries after this time count in the window of `length`: its length back from now, or just before
/// its last reset when that is later. Entries of the reset's own millisecond still count: they may
/// have come after it, and over-counting is the safe side of a limit.
fn window_start(now: i64, length: i64, resets: &[(i64, i64)]) -> i64 {
    let start = now - length;
    resets
        .iter()
        .filter(|(window, _)| *window == length)
        .map(|(_, at)| at - 1)
        .fold(start, i64::max)
}
