//! The store callers hold.

use std::time::Duration;

use gpuproxy_config::RedisConfig;

use crate::ledger::{LedgerMode, LedgerOutcome, LedgerWindow, Once};
use crate::memory_store::MemoryStore;
use crate::redis_store::RedisStore;

/// Why a store operation failed. Only Redis can fail; the memory store never does.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    /// Redis refused the command or could not be reached.
    #[error("redis: {0}")]
    Redis(#[from] fred::error::Error),
    /// Redis answered something this store never asks for.
    #[error("redis answered unexpectedly: {0}")]
    Reply(String),
}

/// The count of a fixed window after an increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    /// Increments in the current window, this one included.
    pub count: u64,
    /// Time until the window closes and the count starts again from zero.
    pub resets_in: Duration,
}

/// An expiring key-value store, Redis or memory. Cheap to clone. Every key is put under the
/// configured prefix, so deployments and tests can share one Redis.
#[derive(Debug, Clone)]
pub enum KvStore {
    /// Shared by every process that points at the same Redis.
    Redis(RedisStore),
    /// Private to this process.
    Memory(MemoryStore),
}

impl KvStore {
    /// Connects to Redis when `config` names a server, or returns a memory store.
    pub async fn connect(config: &RedisConfig) -> Result<Self, KvError> {
        match &config.server {
            Some(server) => Ok(KvStore::Redis(
                RedisStore::connect(server, &config.key_prefix).await?,
            )),
            None => Ok(KvStore::memory()),
        }
    }

    /// Returns a new, empty memory store.
    pub fn memory() -> Self {
        KvStore::Memory(MemoryStore::default())
    }

    /// Returns `redis` or `memory`, for health reports.
    pub fn kind(&self) -> &'static str {
        match self {
            KvStore::Redis(_) => "redis",
            KvStore::Memory(_) => "memory",
        }
    }

    /// Stores `value` under `key` for `ttl`.
    pub async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
        match self {
            KvStore::Redis(store) => store.set(key, value, ttl).await,
            KvStore::Memory(store) => {
                store.set(key, value, ttl);
                Ok(())
            }
        }
    }

    /// Stores `value` under `key` for `ttl` unless a live value is already there; returns whether it
    /// stored. Atomic: of concurrent callers, one wins.
    pub async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        match self {
            KvStore::Redis(store) => store.set_if_absent(key, value, ttl).await,
            KvStore::Memory(store) => Ok(store.set_if_absent(key, value, ttl)),
        }
    }

    /// Returns the value under `key`, unless missing or expired.
    pub async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        match self {
            KvStore::Redis(store) => store.get(key).await,
            KvStore::Memory(store) => Ok(store.get(key)),
        }
    }

    /// Removes `key`; returns whether it was there.
    pub async fn delete(&self, key: &str) -> Result<bool, KvError> {
        match self {
            KvStore::Redis(store) => store.delete(key).await,
            KvStore::Memory(store) => Ok(store.delete(key)),
        }
    }

    /// Atomically counts one more event in the fixed window of length `window` under `key`. The window
    /// opens at the first increment and closes `window` later; concurrent callers (on every replica,
    /// with Redis) never lose an increment.
    pub async fn increment_window(&self, key: &str, window: Duration) -> Result<WindowCount, KvError> {
        match self {
            KvStore::Redis(store) => store.increment_window(key, window).await,
            KvStore::Memory(store) => Ok(store.increment_window(key, window)),
        }
    }

    /// Sums the amounts appended to the ledger `key` within each window ending now and, as `mode`
    /// says, appends `amount` in the same atomic step (one script in Redis, one lock in memory).
    pub async fn ledger(
        &self,
        key: &str,
        amount: i64,
        windows: &[LedgerWindow],
        mode: LedgerMode,
    ) -> Result<LedgerOutcome, KvError> {
        self.ledger_call(key, None, amount, windows, mode).await
    }

    /// [`KvStore::ledger`] at most once per `once` key, decided in the same atomic step: of
    /// concurrent calls with one key exactly one may append, and every later one answers its decision.
    pub async fn ledger_once(
        &self,
        key: &str,
        once: Once<'_>,
        amount: i64,
        windows: &[LedgerWindow],
        mode: LedgerMode,
    ) -> Result<LedgerOutcome, KvError> {
        self.ledger_call(key, Some(once), amount, windows, mode).await
    }

    async fn ledger_call(
        &self,
        key: &str,
        once: Option<Once<'_>>,
        amount: i64,
        windows: &[LedgerWindow],
        mode: LedgerMode,
    ) -> Result<LedgerOutcome, KvError> {
        let now = gpuproxy_domain::now_ms();
        match self {
            KvStore::Redis(store) => store.ledger(key, once, now, amount, windows, mode).await,
            KvStore::Memory(store) => Ok(store.ledger(key, once, now, amount, windows, mode)),
        }
    }

    /// Takes `amount` (0 = all of it) of what a [`KvStore::ledger_once`] call with `once_key`
    /// appended back out of the ledger `key`, for spending that never happened, in one atomic step.
    /// Each window of `lengths` gives it back only while it still counts it (an amount that already
    /// slid out of a window is not taken from what came after), none does once a window of the
    /// ledger was reset since the append (what was spent after a reset is never taken), and no key
    /// gives back more than it appended, however often it is asked. Returns what the key gave back:
    /// 0 for a key that appended nothing, has been given back whole, or expired.
    pub async fn ledger_release(
        &self,
        key: &str,
        once_key: &str,
        amount: i64,
        lengths: &[Duration],
    ) -> Result<i64, KvError> {
        if amount < 0 {
            return Ok(0);
        }
        match self {
            KvStore::Redis(store) => store.ledger_release(key, once_key, amount, lengths).await,
            KvStore::Memory(store) => {
                let now = gpuproxy_domain::now_ms();
                Ok(store.ledger_release(key, once_key, now, amount, lengths))
            }
        }
    }

    /// Makes the window of `length` of the ledger `key` forget what it holds now, leaving the other
    /// windows as they are: later ledger calls count in that window only what is appended after.
    pub async fn reset_ledger_window(&self, key: &str, length: Duration) -> Result<(), KvError> {
        let now = gpuproxy_domain::now_ms();
        match self {
            KvStore::Redis(store) => store.reset_ledger_window(key, now, length).await,
            KvStore::Memory(store) => {
                store.reset_ledger_window(key, length);
                Ok(())
            }
        }
    }

    /// Returns true when the store answers.
    pub async fn ping(&self) -> bool {
        match self {
            KvStore::Redis(store) => store.ping().await,
            KvStore::Memory(_) => true,
        }
    }
}
