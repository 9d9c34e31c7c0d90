//! SQL for the auth service's tables, one module per table. Portable SQL (see migrations/README.md).

pub mod api_keys;
pub mod sessions;
pub mod users;
