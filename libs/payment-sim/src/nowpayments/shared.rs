//! The state every NOWPayments handler and test hook shares.

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::fail_next::FailNext;
use crate::nowpayments::invoice::Invoice;
use crate::nowpayments::payment::Payment;

/// Everything behind one fake NOWPayments account.
#[derive(Debug)]
pub(crate) struct NowPaymentsShared {
    pub(crate) api_key: String,
    pub(crate) ipn_secret: String,
    pub(crate) state: Mutex<NowPaymentsState>,
    pub(crate) fail_next: FailNext,
    /// Delivers IPNs.
    pub(crate) http: reqwest::Client,
}

/// Payments and invoices in creation order, and how many payments were created.
#[derive(Debug, Default)]
pub(crate) struct NowPaymentsState {
    pub(crate) payments: Vec<Payment>,
    pub(crate) invoices: Vec<Invoice>,
    pub(crate) executed: usize,
}

impl NowPaymentsShared {
    /// Locks the state; a panic in another holder leaves it usable.
    pub(crate) fn state(&self) -> MutexGuard<'_, NowPaymentsState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl NowPaymentsState {
    /// Returns the payment `payment_id`, for changing.
    pub(crate) fn payment_mut(&mut self, payment_id: u64) -> Option<&mut Payment> {
        self.payments
            .iter_mut()
            .find(|payment| payment.payment_id == payment_id)
    }

    /// Returns the payment `payment_id`, for reading.
    pub(crate) fn payment(&self, payment_id: u64) -> Option<&Payment> {
        self.payments
            .iter()
            .find(|payment| payment.payment_id == payment_id)
    }
}
