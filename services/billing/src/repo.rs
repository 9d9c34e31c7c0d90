//! The service's tables: one module per aggregate. Every function takes its executor, so callers
//! choose the transaction.

pub mod holds;
pub mod ledger;
pub mod payments;
pub mod usage;
pub mod webhooks;
