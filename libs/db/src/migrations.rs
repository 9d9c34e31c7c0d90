//! Running a service's migrations.

use std::borrow::Cow;

use sqlx::migrate::Migrator;

use crate::{Database, DbError};

/// The migrations of one service, with the table that records which have run.
///
/// Each service has its own table (`_auth_migrations`, …), so services sharing one database (the
/// embedded default) never see each other's migrations as unknown, and a service's schema can move
/// to a database of its own later.
#[derive(Debug)]
pub struct Migrations {
    table: &'static str,
    migrator: Migrator,
}

impl Migrations {
    /// Wraps the migrations of a service (usually from `sqlx::migrate!("../../migrations/<svc>")`),
    /// recorded in `table`.
    pub fn new(table: &'static str, mut migrator: Migrator) -> Self {
        migrator.dangerous_set_table_name(Cow::Borrowed(table));
        Migrations { table, migrator }
    }

    /// Returns the bookkeeping table's name.
    pub fn table(&self) -> &'static str {
        self.table
    }

    /// Applies the migrations not yet applied. On PostgreSQL an advisory lock makes concurrent
    /// replicas wait for each other instead of racing.
    pub async fn run(&self, database: &Database) -> Result<(), DbError> {
        self.migrator
            .run(database.pool())
            .await
            .map_err(|source| DbError::Migrate {
                table: self.table,
                source,
            })?;
        tracing::debug!(table = self.table, "migrations applied");
        Ok(())
    }
}

impl Database {
    /// Applies every schema in `schemas`, in order (a service's own, then the outbox's it writes to).
    pub async fn migrate(&self, schemas: impl IntoIterator<Item = Migrations>) -> Result<(), DbError> {
        for schema in schemas {
            schema.run(self).await?;
        }
        Ok(())
    }
}
