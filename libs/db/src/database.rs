//! Connecting to the database.

use std::path::Path;

use gpuproxy_config::{DatabaseBackend, DatabaseConfig, ExposeSecret};
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL: the fleet.
    Postgres,
    /// SQLite: the embedded default.
    Sqlite,
}

/// Why the database could not be reached or prepared.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The connection failed or a statement failed.
    #[error("database {target}: {source}")]
    Connect {
        /// Where we tried to connect, without credentials.
        target: String,
        /// What went wrong.
        #[source]
        source: sqlx::Error,
    },
    /// The SQLite file's directory could not be created.
    #[error("creating the directory of {path}: {source}")]
    CreateDirectory {
        /// The database file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// A migration failed.
    #[error("migrating {table}: {source}")]
    Migrate {
        /// The migration table of the service.
        table: &'static str,
        /// What went wrong.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// A connection pool, cheap to clone.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    description: String,
}

impl Database {
    /// Connects to the database in `config`, creating a SQLite file (and its directory) when missing.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let description = config.describe();
        let (url, backend) = match &config.backend {
            DatabaseBackend::Postgres { url } => (url.expose_secret().to_owned(), Backend::Postgres),
            DatabaseBackend::Sqlite { path } => {
                create_parent_directory(path)?;
                (format!("sqlite://{}?mode=rwc", path.display()), Backend::Sqlite)
            }
        };
        let connect_error = |source| DbError::Connect {
            target: description.clone(),
            source,
        };
        if backend == Backend::Sqlite {
            enable_write_ahead_log(&url).await.map_err(connect_error)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.connect_timeout)
            .max_lifetime(config.max_lifetime)
            .idle_timeout(config.idle_timeout)
            .after_connect(move |connection, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL readers never block the writer; NORMAL is durable across process crashes.
                        connection.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(connect_error)?;
        tracing::info!(database = %description, "connected to the database");
        Ok(Database {
            pool,
            backend,
            description,
        })
    }

    /// Returns the pool, for queries.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Returns which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Returns a description safe to log (no password).
    pub fn describe(&self) -> &str {
        &self.description
    }

    /// Returns true when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes every connection; pending queries finish first.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn create_parent_directory(path: &Path) -> Result<(), DbError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDirectory {
                path: path.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Switching the journal mode needs an exclusive lock, so it happens once, before the pool opens.
/// WAL is a property of the file and stays set for every later connection.
async fn enable_write_ahead_log(url: &str) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut connection = sqlx::AnyConnection::connect(url).await?;
    connection.execute("PRAGMA journal_mode = WAL").await?;
    connection.close().await
}
