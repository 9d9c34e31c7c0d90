//! A REST worker's memo of the credentials it verified in the last second, in front of the shared
//! cache (`authenticator.rs`).
//!
//! The shared cache is a concurrent one: every lookup pins an epoch, records the read for its
//! eviction policy and runs its housekeeping now and then, on state both workers touch. A worker
//! that sees the same keys thousands of times a second answers most of them from this map instead.
//! It holds what the shared cache holds (principals under the SHA-256 of the credential), drops
//! everything when any credential is invalidated (the authenticator's epoch moves), and keeps an
//! entry one second, so a principal outlives its shared-cache entry by a second at most.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use gpuproxy_domain::Principal;

/// How long a memo entry is trusted.
const MEMO_FOR: Duration = Duration::from_secs(1);
/// Entries at most; past this the memo starts afresh (the shared cache still has them).
const CAPACITY: usize = 4096;

/// One worker's memo. Cheap to clone; clones share it.
#[derive(Debug, Clone, Default)]
pub struct AuthMemo {
    entries: Arc<Mutex<Entries>>,
}

#[derive(Debug, Default)]
struct Entries {
    /// The authenticator's epoch the entries were made in.
    epoch: u64,
    by_key: foldhash::HashMap<[u8; 32], Entry>,
}

#[derive(Debug)]
struct Entry {
    principal: Arc<Principal>,
    memoised_at: Instant,
}

impl AuthMemo {
    /// Returns the principal memoised under `key` in `epoch`, if it is under a second old.
    pub fn get(&self, key: &[u8; 32], epoch: u64) -> Option<Arc<Principal>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.epoch != epoch {
            return None;
        }
        let entry = entries.by_key.get(key)?;
        (entry.memoised_at.elapsed() < MEMO_FOR).then(|| Arc::clone(&entry.principal))
    }

    /// Memoises `principal` under `key`, found in the shared cache during `epoch`.
    pub fn put(&self, key: [u8; 32], principal: Arc<Principal>, epoch: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.epoch != epoch || entries.by_key.len() >= CAPACITY {
            entries.by_key.clear();
            entries.epoch = epoch;
        }
        entries.by_key.insert(
            key,
            Entry {
                principal,
                memoised_at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gpuproxy_domain::{Credential, Email, UserId};

    fn principal() -> Arc<Principal> {
        Arc::new(Principal {
            user_id: UserId::generate(),
            email: Email::parse("memo@example.com").expect("an email"),
            is_admin: false,
            credential: Credential::ApiKey("key-1".to_owned()),
            expires_at_ms: None,
        })
    }

    #[test]
    fn an_entry_is_found_in_its_epoch_only() {
        let memo = AuthMemo::default();
        let key = [7; 32];
        memo.put(key, principal(), 3);
        assert!(memo.get(&key, 3).is_some());
        assert!(memo.get(&[8; 32], 3).is_none());
        assert!(
            memo.get(&key, 4).is_none(),
            "an invalidation anywhere moves the epoch"
        );
        memo.put([8; 32], principal(), 4);
        assert!(memo.get(&key, 3).is_none(), "a new epoch starts the memo afresh");
    }

    #[test]
    fn an_entry_older_than_a_second_is_not_trusted() {
        let memo = AuthMemo::default();
        let key = [1; 32];
        memo.put(key, principal(), 0);
        if let Some(entry) = memo
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .by_key
            .get_mut(&key)
        {
            entry.memoised_at -= MEMO_FOR;
        }
        assert!(memo.get(&key, 0).is_none());
    }
}
