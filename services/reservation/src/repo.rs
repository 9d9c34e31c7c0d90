//! The service's tables: one module per aggregate. Every function takes its executor, so callers
//! choose the transaction.

pub mod installation;
pub mod instances;
pub mod metering;
pub mod reservations;
pub mod strategies;
