//! Recognising constraint violations.

/// Returns true when `error` is a unique-constraint violation (PostgreSQL 23505, SQLite
/// `SQLITE_CONSTRAINT_UNIQUE`/`_PRIMARYKEY`), which callers map to "already exists".
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database_error) => database_error.is_unique_violation(),
        _ => false,
    }
}
