//! An expiring key-value store with exactly two implementations: Redis (the fleet, shared by every
//! replica) and process memory (embedded). Sessions, rate-limit windows, caches and
//! sliding-window ledgers (guard-rail spending) live here.
//!
//! Layout: [`KvStore`] is the one type callers hold (an enum, so the choice is made once at start-up
//! from [`RedisConfig`](gpuproxy_config::RedisConfig)); `redis_store.rs` and `memory_store.rs` are the
//! two implementations, with the same semantics, proven by the same tests.

mod ledger;
mod memory_store;
mod redis_store;
mod store;

pub use ledger::{LedgerMode, LedgerOutcome, LedgerWindow, Once};
pub use store::{KvError, KvStore, WindowCount};
