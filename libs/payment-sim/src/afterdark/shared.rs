//! The state every AfterDark handler and test hook shares.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::afterdark::charge::Charge;
use crate::fail_next::FailNext;
use crate::idempotency::IdempotencyStore;

/// Everything behind one fake AfterDark account.
#[derive(Debug)]
pub(crate) struct AfterDarkShared {
    pub(crate) api_key: String,
    pub(crate) state: Mutex<AfterDarkState>,
    pub(crate) idempotency: IdempotencyStore,
    pub(crate) fail_next: FailNext,
}

/// Charges in creation order and the decline switch.
#[derive(Debug, Default)]
pub(crate) struct AfterDarkState {
    pub(crate) charges: Vec<Charge>,
    /// When set, new charges fail with `card_declined`.
    pub(crate) decline: bool,
}

impl AfterDarkShared {
    /// Locks the state; a panic in another holder leaves it usable.
    pub(crate) fn state(&self) -> MutexGuard<'_, AfterDarkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
