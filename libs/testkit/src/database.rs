//! A database of the test's own.

use gpuproxy_config::{DatabaseBackend, DatabaseConfig, ExposeSecret};
use sqlx::{Connection, PgConnection};

use crate::{TestServers, unique_name};

/// A fresh, empty database. A PostgreSQL database is dropped when this is dropped; a SQLite file
/// lives in a temporary directory that is deleted.
#[derive(Debug)]
pub struct TestDatabase {
    config: DatabaseConfig,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Postgres { admin_url: String, name: String },
    Sqlite { _dir: tempfile::TempDir },
}

impl TestDatabase {
    /// Creates an empty SQLite database file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("creating a temp dir: {error}"));
        let config = DatabaseConfig::sqlite(dir.path().join("gpuproxy.db"));
        TestDatabase {
            config,
            cleanup: Cleanup::Sqlite { _dir: dir },
        }
    }

    /// Creates an empty PostgreSQL database on the test server.
    pub async fn postgres() -> Self {
        let admin_url = TestServers::from_env().postgres_admin_url;
        let name = unique_name();
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|error| panic!("connecting to {admin_url} (is PostgreSQL running?): {error}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|error| panic!("creating database {name}: {error}"));
        let _ = admin.close().await;
        let base = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(base, _)| base);
        let config = DatabaseConfig::postgres(format!("{base}/{name}"));
        TestDatabase {
            config,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// Returns the configuration that points at this database.
    pub fn config(&self) -> &DatabaseConfig {
        &self.config
    }

    /// Returns the `DATABASE_URL` that points at this database, for a process configured by variables.
    pub fn url(&self) -> String {
        match &self.config.backend {
            DatabaseBackend::Sqlite { path } => format!("sqlite://{}", path.display()),
            DatabaseBackend::Postgres { url } => url.expose_secret().to_owned(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Cleanup::Postgres { admin_url, name } = &self.cleanup else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        // Drop runs inside the test's runtime, which cannot block on async work: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        // A failed cleanup must not fail the test; the janitor removes what is left.
        if let Ok(Err(error)) = dropped {
            eprintln!(
                "warning: dropping test database failed ({error}); gpuproxy-test-janitor will remove it"
            );
        }
    }
}
