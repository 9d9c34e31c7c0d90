//! Sliding-window ledgers: amounts counted with their time, summed over windows that end now.
//! The guard rails keep spending in one per user.
//!
//! Each window keeps its amounts in [`STEPS_PER_WINDOW`] buckets of a 60th of its length and a
//! running total, so a call costs the same whether the user spent twice or a million times (a
//! ledger of single entries grows with the spending and every call sums it all). A window slides a
//! bucket at a time: an amount leaves it between its length and its length plus one step after it
//! was spent, never earlier, since over-counting is the safe side of a limit.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How many steps a window slides in over its length: 5 s for 5 minutes, 72 minutes for 72 hours.
const STEPS_PER_WINDOW: i64 = 60;

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

/// Makes a ledger call happen at most once per key: a second call with the same key appends
/// nothing and answers what the first one decided. The key also remembers when and how much was
/// appended, so that [`KvStore::ledger_release`](crate::KvStore::ledger_release) can take it out
/// again if the spending it stood for never happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Once<'a> {
    /// The store key remembering the first call's decision.
    pub key: &'a str,
    /// How long it is remembered.
    pub ttl: Duration,
}

/// The outcome of a ledger call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerOutcome {
    /// Whether the amount was appended (by this call, or by the first one with its [`Once`] key).
    pub appended: bool,
    /// Whether an earlier call with the same [`Once`] key decided, so this one appended nothing.
    pub replayed: bool,
    /// Each window's total before the append, in the order the windows were given.
    pub totals: Vec<i64>,
}

/// What a [`Once`] key holds: whether its call appended and, if so, when, how much of the amount
/// is still counted, and the generation of the ledger it went into (`1:<millis>:<left>:<generation>`;
/// `0` for a refusal). A ledger gets a new generation when it is created and whenever a window of
/// it is reset, so an amount from before a reset is never taken from what was counted after it. A
/// bare `1`, written before releases existed, is an append that can no longer be released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decided {
    Refused,
    Appended { at: i64, left: i64, generation: String },
}

impl Decided {
    pub(crate) fn parse(value: &str) -> Self {
        let mut fields = value.splitn(4, ':');
        if fields.next() != Some("1") {
            return Decided::Refused;
        }
        match (
            fields.next().and_then(|at| at.parse().ok()),
            fields.next().and_then(|left| left.parse().ok()),
            fields.next(),
        ) {
            (Some(at), Some(left), Some(generation)) => Decided::Appended {
                at,
                left,
                generation: generation.to_owned(),
            },
            _ => Decided::Appended {
                at: 0,
                left: 0,
                generation: String::new(),
            },
        }
    }

    pub(crate) fn appended(&self) -> bool {
        matches!(self, Decided::Appended { .. })
    }

    pub(crate) fn encode(&self) -> String {
        match self {
            Decided::Refused => "0".to_owned(),
            Decided::Appended { at, left, generation } => format!("1:{at}:{left}:{generation}"),
        }
    }
}

/// A generation no memory ledger of this process had before.
fn next_generation() -> u64 {
    static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX).max(1)
}

/// The length of one bucket of a window, in milliseconds (Redis's script is given it).
pub(crate) fn step(length: i64) -> i64 {
    (length / STEPS_PER_WINDOW).max(1)
}

/// A ledger in memory: the buckets of each window length it was called with.
#[derive(Debug)]
pub(crate) struct Ledger {
    windows: HashMap<i64, Buckets>,
    /// See [`Decided`].
    generation: u64,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            windows: HashMap::new(),
            generation: next_generation(),
        }
    }
}

/// One window's buckets (index = time / step) and their running total.
#[derive(Debug, Default)]
struct Buckets {
    total: i64,
    amounts: BTreeMap<i64, i64>,
}

impl Buckets {
    /// Drops the buckets wholly before the window that ends `now` and returns the total left.
    fn slide(&mut self, now: i64, length: i64) -> i64 {
        let first = (now - length).div_euclid(step(length));
        let live = self.amounts.split_off(&first);
        self.total -= self.amounts.values().sum::<i64>();
        self.amounts = live;
        self.total
    }
}

impl Ledger {
    /// Returns whether the ledger holds no amount.
    pub(crate) fn is_empty(&self) -> bool {
        self.windows.values().all(|buckets| buckets.amounts.is_empty())
    }

    /// Makes the window of `length` forget every amount; the other windows keep theirs.
    pub(crate) fn reset_window(&mut self, length: Duration) {
        self.windows.remove(&millis(length));
        self.generation = next_generation();
    }

    /// The ledger's generation (see [`Decided`]).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Takes `amount` appended at `at` in `generation` out of each window of `lengths` that still
    /// holds the bucket it went into (at most what that bucket holds); a window that already let it
    /// go is left alone, and so is every window once the ledger's generation has changed.
    pub(crate) fn release(&mut self, now: i64, at: i64, amount: i64, generation: &str, lengths: &[Duration]) {
        if generation.parse() != Ok(self.generation) {
            return;
        }
        for length in lengths {
            let length = millis(*length);
            let Some(buckets) = self.windows.get_mut(&length) else {
                continue;
            };
            buckets.slide(now, length);
            if let Some(held) = buckets.amounts.get_mut(&at.div_euclid(step(length))) {
                let taken = amount.min(*held);
                *held -= taken;
                buckets.total -= taken;
                if *held <= 0 {
                    buckets.amounts.remove(&at.div_euclid(step(length)));
                }
            }
        }
        self.windows.retain(|_, buckets| !buckets.amounts.is_empty());
    }

    /// The memory implementation of a ledger call: slides, sums, decides and appends, under the
    /// caller's lock.
    pub(crate) fn apply(
        &mut self,
        now: i64,
        amount: i64,
        windows: &[LedgerWindow],
        mode: LedgerMode,
    ) -> LedgerOutcome {
        let totals: Vec<i64> = windows
            .iter()
            .map(|window| {
                let length = millis(window.length);
                self.windows
                    .get_mut(&length)
                    .map_or(0, |buckets| buckets.slide(now, length))
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
            for window in windows {
                let length = millis(window.length);
                let buckets = self.windows.entry(length).or_default();
                buckets.total += amount;
                *buckets.amounts.entry(now.div_euclid(step(length))).or_default() += amount;
            }
        }
        self.windows.retain(|_, buckets| !buckets.amounts.is_empty());
        LedgerOutcome {
            appended,
            replayed: false,
            totals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    fn five_minutes(limit: i64) -> Vec<LedgerWindow> {
        vec![LedgerWindow {
            length: Duration::from_secs(300),
            limit,
        }]
    }

    #[test]
    fn an_amount_leaves_its_window_within_one_step_after_its_length() {
        let mut ledger = Ledger::default();
        let spent_at = 10 * MINUTE + 2_500;
        ledger.apply(spent_at, 7, &five_minutes(0), LedgerMode::Force);
        let total_at =
            |ledger: &mut Ledger, at: i64| ledger.apply(at, 0, &five_minutes(0), LedgerMode::Check).totals[0];
        assert_eq!(
            total_at(&mut ledger, spent_at + 5 * MINUTE - 1),
            7,
            "still inside its length"
        );
        // The bucket [10:00, 10:05) leaves once the window starts at 10:05.
        assert_eq!(
            total_at(&mut ledger, spent_at + 5 * MINUTE + 2_499),
            7,
            "within one step"
        );
        assert_eq!(
            total_at(&mut ledger, spent_at + 5 * MINUTE + 2_500),
            0,
            "a step later it is gone"
        );
        assert!(ledger.is_empty());
    }

    #[test]
    fn a_busy_ledger_keeps_a_bounded_number_of_buckets() {
        let mut ledger = Ledger::default();
        for second in 0..3_600 {
            ledger.apply(second * 1_000, 1, &five_minutes(0), LedgerMode::Force);
        }
        let buckets = ledger
            .windows
            .values()
            .map(|buckets| buckets.amounts.len())
            .sum::<usize>();
        assert!(buckets <= 61, "{buckets} buckets");
        let total = ledger
            .apply(3_600_000, 0, &five_minutes(0), LedgerMode::Check)
            .totals[0];
        assert!(
            (300..=305).contains(&total),
            "five minutes of one a second, give or take a step: {total}"
        );
    }
}
