//! The store in process memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::WindowCount;
use crate::ledger::{Decided, Ledger, LedgerMode, LedgerOutcome, LedgerWindow, Once};

/// After this many writes, expired entries are swept, so keys nobody reads again do not pile up.
const SWEEP_EVERY: u64 = 1024;

/// A store in process memory. Expiry follows tokio's clock, so tests can pause time.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    ledgers: HashMap<String, Ledger>,
    writes: u64,
}

#[derive(Debug)]
struct Entry {
    value: String,
    expires_at: Instant,
}

impl MemoryStore {
    pub(crate) fn set(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        self.with_inner(|inner| {
            inner.note_write(now);
            inner.entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_owned(),
                    expires_at: now + ttl,
                },
            );
        });
    }

    pub(crate) fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> bool {
        let now = Instant::now();
        self.with_inner(|inner| {
            if inner.live(key, now).is_some() {
                return false;
            }
            inner.note_write(now);
            inner.entries.insert(
                key.to_owned(),
                Entry {
                    value: value.to_owned(),
                    expires_at: now + ttl,
                },
            );
            true
        })
    }

    pub(crate) fn get(&self, key: &str) -> Option<String> {
        let now = Instant::now();
        self.with_inner(|inner| inner.live(key, now).map(|entry| entry.value.clone()))
    }

    pub(crate) fn delete(&self, key: &str) -> bool {
        let now = Instant::now();
        self.with_inner(|inner| {
            let ledger = inner.ledgers.remove(key).is_some_and(|ledger| !ledger.is_empty());
            let entry = inner
                .entries
                .remove(key)
                .is_some_and(|entry| entry.expires_at > now);
            ledger || entry
        })
    }

    pub(crate) fn ledger(
        &self,
        key: &str,
        once: Option<Once<'_>>,
        now: i64,
        amount: i64,
        windows: &[LedgerWindow],
        mode: LedgerMode,
    ) -> LedgerOutcome {
        let clock = Instant::now();
        self.with_inner(|inner| {
            let decided = once.and_then(|once| {
                inner
                    .live(once.key, clock)
                    .map(|entry| Decided::parse(&entry.value).appended())
            });
            let mode = if decided.is_some() {
                LedgerMode::Check
            } else {
                mode
            };
            let ledger = inner.ledgers.entry(key.to_owned()).or_default();
            let mut outcome = ledger.apply(now, amount, windows, mode);
            let generation = ledger.generation();
            if ledger.is_empty() {
                inner.ledgers.remove(key);
            }
            match (decided, once) {
                (Some(appended), _) => {
                    outcome.appended = appended;
                    outcome.replayed = true;
                }
                (None, Some(once)) => {
                    inner.note_write(clock);
                    let value = if outcome.appended {
                        Decided::Appended {
                            at: now,
                            left: amount,
                            generation: generation.to_string(),
                        }
                    } else {
                        Decided::Refused
                    };
                    inner.entries.insert(
                        once.key.to_owned(),
                        Entry {
                            value: value.encode(),
                            expires_at: clock + once.ttl,
                        },
                    );
                }
                (None, None) => {}
            }
            outcome
        })
    }

    pub(crate) fn ledger_release(
        &self,
        key: &str,
        once_key: &str,
        now: i64,
        amount: i64,
        lengths: &[Duration],
    ) -> i64 {
        let clock = Instant::now();
        self.with_inner(|inner| {
            let Some(entry) = inner
                .entries
                .get_mut(once_key)
                .filter(|entry| entry.expires_at > clock)
            else {
                return 0;
            };
            let Decided::Appended { at, left, generation } = Decided::parse(&entry.value) else {
                return 0;
            };
            let taken = if amount == 0 { left } else { amount.min(left) };
            if taken <= 0 {
                return 0;
            }
            entry.value = Decided::Appended {
                at,
                left: left - taken,
                generation: generation.clone(),
            }
            .encode();
            if let Some(ledger) = inner.ledgers.get_mut(key) {
                ledger.release(now, at, taken, &generation, lengths);
                if ledger.is_empty() {
                    inner.ledgers.remove(key);
                }
            }
            taken
        })
    }

    pub(crate) fn reset_ledger_window(&self, key: &str, length: Duration) {
        self.with_inner(|inner| {
            if let Some(ledger) = inner.ledgers.get_mut(key) {
                ledger.reset_window(length);
                if ledger.is_empty() {
                    inner.ledgers.remove(key);
                }
            }
        });
    }

    pub(crate) fn increment_window(&self, key: &str, window: Duration) -> WindowCount {
        let now = Instant::now();
        self.with_inner(|inner| {
            inner.note_write(now);
            let entry = match inner.entries.get_mut(key) {
                Some(entry) if entry.expires_at > now => entry,
                _ => {
                    inner.entries.insert(
                        key.to_owned(),
                        Entry {
                            value: "0".to_owned(),
                            expires_at: now + window,
                        },
                    );
                    match inner.entries.get_mut(key) {
                        Some(entry) => entry,
                        None => {
                            return WindowCount {
                                count: 1,
                                resets_in: window,
                            };
                        }
                    }
                }
            };
            let count = entry.value.parse::<u64>().unwrap_or(0).saturating_add(1);
            entry.value = count.to_string();
            WindowCount {
                count,
                resets_in: entry.expires_at.saturating_duration_since(now),
            }
        })
    }

    /// A panic while holding the lock cannot leave an entry half-written, so a poisoned lock is
    /// still consistent and safe to use.
    fn with_inner<T>(&self, action: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        action(&mut inner)
    }
}

impl Inner {
    fn live(&self, key: &str, now: Instant) -> Option<&Entry> {
        self.entries.get(key).filter(|entry| entry.expires_at > now)
    }

    fn note_write(&mut self, now: Instant) {
        self.writes = self.writes.wrapping_add(1);
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.entries.retain(|_, entry| entry.expires_at > now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_entries_are_swept_after_enough_writes() {
        tokio::time::pause();
        let store = MemoryStore::default();
        for n in 0..10 {
            store.set(&format!("old{n}"), "x", Duration::from_secs(1));
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        for n in 0..SWEEP_EVERY {
            store.set(&format!("new{n}"), "x", Duration::from_secs(60));
        }
        let remaining = store.with_inner(|inner| inner.entries.len() as u64);
        assert_eq!(remaining, SWEEP_EVERY);
    }
}
