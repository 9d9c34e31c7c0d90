//! Idempotency keys: the first execution's status and body, replayed for the same key.
//!
//! Stripe (spec A2) and AfterDark share the mechanics and differ only in how they answer a
//! mismatch or a key still in use, so the store reports those cases and each fake words them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::http::StatusCode;
use serde_json::Value;

/// The stored answer of a key's first execution.
#[derive(Debug, Clone)]
pub(crate) struct StoredResponse {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

/// What a request carrying an idempotency key may do.
#[derive(Debug)]
pub(crate) enum Claim {
    /// The key is new: execute, then [`InFlight::complete`] (or drop the guard to forget the key).
    Execute(InFlight),
    /// The key ran before with the same parameters: answer this again.
    Replay(StoredResponse),
    /// The key ran before with other parameters.
    Mismatch,
    /// The key's first request has not finished yet.
    InUse,
}

/// Keys of one account, each with the fingerprint of the parameters it was first used with.
#[derive(Debug, Clone, Default)]
pub(crate) struct IdempotencyStore {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

/// A claimed key whose request is executing. Dropping it without completing forgets the key, so a
/// request rejected before execution (or abandoned by its client) can be retried with it.
#[derive(Debug)]
pub(crate) struct InFlight {
    store: IdempotencyStore,
    key: String,
    fingerprint: String,
    completed: bool,
}

#[derive(Debug)]
enum Entry {
    /// The first request holds the key; whatever it sent, a second one must wait.
    Executing,
    Done {
        fingerprint: String,
        response: StoredResponse,
    },
}

impl IdempotencyStore {
    /// Claims `key` for a request whose parameters have `fingerprint`.
    pub(crate) fn claim(&self, key: &str, fingerprint: String) -> Claim {
        let mut entries = self.lock();
        match entries.get(key) {
            None => {
                entries.insert(key.to_owned(), Entry::Executing);
                Claim::Execute(InFlight {
                    store: self.clone(),
                    key: key.to_owned(),
                    fingerprint,
                    completed: false,
                })
            }
            Some(Entry::Executing) => Claim::InUse,
            Some(Entry::Done {
                fingerprint: first,
                response,
            }) if *first == fingerprint => Claim::Replay(response.clone()),
            Some(Entry::Done { .. }) => Claim::Mismatch,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl InFlight {
    /// Stores the execution's answer under the key, for replays.
    pub(crate) fn complete(mut self, response: StoredResponse) {
        self.completed = true;
        let entry = Entry::Done {
            fingerprint: std::mem::take(&mut self.fingerprint),
            response,
        };
        self.store.lock().insert(self.key.clone(), entry);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.completed {
            self.store.lock().remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> StoredResponse {
        StoredResponse {
            status: StatusCode::OK,
            body: serde_json::json!({"id": "pi_1"}),
        }
    }

    #[test]
    fn a_completed_key_replays_for_the_same_parameters_only() {
        let store = IdempotencyStore::default();
        let Claim::Execute(in_flight) = store.claim("k", "a=1".to_owned()) else {
            panic!("a new key executes");
        };
        assert!(matches!(store.claim("k", "a=1".to_owned()), Claim::InUse));
        in_flight.complete(created());
        assert!(matches!(store.claim("k", "a=1".to_owned()), Claim::Replay(r) if r.body == created().body));
        assert!(matches!(store.claim("k", "a=2".to_owned()), Claim::Mismatch));
    }

    #[test]
    fn an_abandoned_key_executes_again() {
        let store = IdempotencyStore::default();
        let first = store.claim("k", "a=1".to_owned());
        drop(first);
        assert!(matches!(store.claim("k", "a=2".to_owned()), Claim::Execute(_)));
    }
}
