//! The database layer: one pool type for PostgreSQL (the fleet) and SQLite (embedded), and
//! per-service migrations.
//!
//! Layout: `database.rs` connects and pings; `migrations.rs` runs a service's migrations with its own
//! bookkeeping table; `constraint.rs` recognises unique violations so that services map them to
//! `AlreadyExists` instead of a 500.
//!
//! Both backends run the same SQL through sqlx's `Any` driver, so queries stay portable: `$1`-style
//! parameters, and only `TEXT` and `BIGINT` columns (flags are 0/1, times are Unix milliseconds, ids
//! are UUID text). `Any` cannot decode SQLite booleans or dates, which is why those types are out.

mod constraint;
mod database;
mod migrations;

pub use constraint::is_unique_violation;
pub use database::{Backend, Database, DbError};
pub use migrations::Migrations;
pub use sqlx::any::AnyRow;
pub use sqlx::{Any, AnyPool, Row, Transaction};
