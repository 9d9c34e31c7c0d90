//! Database variables (`DB_*`, `DATABASE_URL`, `DATA_DIR`).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::Reader;

/// Which database, and where.
#[derive(Debug, Clone)]
pub enum DatabaseBackend {
    /// A SQLite file, created when missing (the embedded default, `./data/gpuproxy.db`).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// A PostgreSQL server.
    Postgres {
        /// The connection URL, with the password inside: never log it.
        url: SecretString,
    },
}

/// The database a service keeps its tables in, and its connection pool.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// Which database.
    pub backend: DatabaseBackend,
    /// Largest number of open connections (`DB_MAX_CONNS`).
    pub max_connections: u32,
    /// Connections kept open while idle (`DB_MIN_CONNS`).
    pub min_connections: u32,
    /// How long to wait for a connection (`DB_CONNECT_TIMEOUT`).
    pub connect_timeout: Duration,
    /// Connections older than this are replaced (`DB_MAX_CONN_LIFETIME`).
    pub max_lifetime: Duration,
    /// Idle connections are closed after this (`DB_MAX_CONN_IDLE_TIME`).
    pub idle_timeout: Duration,
    /// How often health probes ping the database (`DB_HEALTH_CHECK_PERIOD`).
    pub health_check_period: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sqlite,
    Postgres,
}

impl DatabaseConfig {
    /// Reads the database variables; with none set, a SQLite file under `./data`.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let kind = reader.choice(
            "DB_TYPE",
            Kind::Sqlite,
            &[
                ("sqlite", Kind::Sqlite),
                ("postgres", Kind::Postgres),
                ("postgresql", Kind::Postgres),
            ],
        );
        let data_dir = PathBuf::from(reader.string("DATA_DIR", "./data"));
        let name = reader.string("DB_NAME", "gpuproxy");
        let host = reader.string("DB_HOST", "localhost");
        let port = reader.number("DB_PORT", 5432u16, 1..=u16::MAX);
        let user = reader.string("DB_USER", "postgres");
        let password = reader.secret("DB_PASSWORD");
        let ssl_mode = reader.choice(
            "DB_SSLMODE",
            "disable",
            &[
                ("disable", "disable"),
                ("prefer", "prefer"),
                ("require", "require"),
                ("verify-ca", "verify-ca"),
                ("verify-full", "verify-full"),
            ],
        );
        let use_pgbouncer = reader.bool("DB_USE_PGBOUNCER", false);
        let pgbouncer_pool_mode = reader.choice(
            "DB_PGBOUNCER_POOL_MODE",
            "transaction",
            &[
                ("transaction", "transaction"),
                ("session", "session"),
                ("statement", "statement"),
            ],
        );
        let url = reader.secret("DATABASE_URL");

        let backend = match url {
            Some(url) => Self::backend_from_url(reader, url),
            None => match kind {
                Kind::Sqlite => DatabaseBackend::Sqlite {
                    path: sqlite_path(&data_dir, &name),
                },
                Kind::Postgres => {
                    // Transaction and statement pooling hand each statement to any server connection,
                    // so statements prepared on one connection are missing on the next.
                    let no_statement_cache = use_pgbouncer && pgbouncer_pool_mode != "session";
                    let url = postgres_url(&PostgresParts {
                        host: &host,
                        port,
                        user: &user,
                        password: password.as_ref(),
                        name: &name,
                        ssl_mode,
                        no_statement_cache,
                    });
                    DatabaseBackend::Postgres { url }
                }
            },
        };

        let max_connections = reader.number("DB_MAX_CONNS", 20u32, 1..=10_000);
        let min_connections = reader.number("DB_MIN_CONNS", 0u32, 0..=10_000);
        if min_connections > max_connections {
            reader.invalid(
                "DB_MIN_CONNS",
                Some(&min_connections.to_string()),
                format!("must not exceed DB_MAX_CONNS ({max_connections})"),
            );
        }
        DatabaseConfig {
            backend,
            max_connections,
            min_connections: min_connections.min(max_connections),
            connect_timeout: reader.duration("DB_CONNECT_TIMEOUT", Duration::from_secs(5)),
            max_lifetime: reader.duration("DB_MAX_CONN_LIFETIME", Duration::from_secs(30 * 60)),
            idle_timeout: reader.duration("DB_MAX_CONN_IDLE_TIME", Duration::from_secs(5 * 60)),
            health_check_period: reader.duration("DB_HEALTH_CHECK_PERIOD", Duration::from_secs(30)),
        }
    }

    /// Returns a configuration for a SQLite file, for tools and tests.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self::with_backend(DatabaseBackend::Sqlite { path: path.into() })
    }

    /// Returns a configuration for a PostgreSQL URL, for tools and tests.
    pub fn postgres(url: impl Into<String>) -> Self {
        Self::with_backend(DatabaseBackend::Postgres {
            url: SecretString::from(url.into()),
        })
    }

    /// Returns a short description that is safe to log (no password).
    pub fn describe(&self) -> String {
        match &self.backend {
            DatabaseBackend::Sqlite { path } => format!("sqlite {}", path.display()),
            DatabaseBackend::Postgres { url } => {
                let url = url.expose_secret();
                let after_credentials = url.rsplit_once('@').map_or(url, |(_, rest)| rest);
                format!(
                    "postgres {}",
                    after_credentials.split('?').next().unwrap_or(after_credentials)
                )
            }
        }
    }

    fn with_backend(backend: DatabaseBackend) -> Self {
        DatabaseConfig {
            backend,
            max_connections: 10,
            min_connections: 0,
            connect_timeout: Duration::from_secs(5),
            max_lifetime: Duration::from_secs(30 * 60),
            idle_timeout: Duration::from_secs(5 * 60),
            health_check_period: Duration::from_secs(30),
        }
    }

    fn backend_from_url(reader: &mut Reader<'_>, url: SecretString) -> DatabaseBackend {
        let text = url.expose_secret();
        if let Some(path) = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or(path);
            return DatabaseBackend::Sqlite {
                path: PathBuf::from(path),
            };
        }
        if !(text.starts_with("postgres://") || text.starts_with("postgresql://")) {
            reader.invalid("DATABASE_URL", None, "expected a postgres://… or sqlite://… URL");
        }
        DatabaseBackend::Postgres { url }
    }
}

/// A bare name becomes `<DATA_DIR>/<name>.db`; anything that looks like a path is used as given.
fn sqlite_path(data_dir: &std::path::Path, name: &str) -> PathBuf {
    if name.contains('/') {
        return PathBuf::from(name);
    }
    if name.contains('.') {
        data_dir.join(name)
    } else {
        data_dir.join(format!("{name}.db"))
    }
}

struct PostgresParts<'a> {
    host: &'a str,
    port: u16,
    user: &'a str,
    password: Option<&'a SecretString>,
    name: &'a str,
    ssl_mode: &'a str,
    no_statement_cache: bool,
}

fn postgres_url(parts: &PostgresParts<'_>) -> SecretString {
    let credentials = match parts.password {
        Some(password) => format!(
            "{}:{}",
            percent_encode(parts.user),
            percent_encode(password.expose_secret())
        ),
        None => percent_encode(parts.user),
    };
    let mut url = format!(
        "postgres://{credentials}@{}:{}/{}?sslmode={}",
        parts.host,
        parts.port,
        percent_encode(parts.name),
        parts.ssl_mode
    );
    if parts.no_statement_cache {
        url.push_str("&statement-cache-capacity=0");
    }
    SecretString::from(url)
}

/// Encodes everything but RFC 3986 unreserved characters, so any password survives inside a URL.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EnvMap;

    fn read(pairs: &[(&str, &str)]) -> DatabaseConfig {
        let env = EnvMap::from_pairs(pairs.iter().copied());
        let mut reader = Reader::new(&env);
        let config = DatabaseConfig::read(&mut reader);
        reader.finish(config).expect("valid configuration")
    }

    #[test]
    fn with_nothing_set_it_is_a_sqlite_file_under_data() {
        let config = read(&[]);
        assert!(
            matches!(&config.backend, DatabaseBackend::Sqlite { path } if path == &PathBuf::from("./data/gpuproxy.db"))
        );
    }

    #[test]
    fn the_seed_sqlite_example_keeps_its_file_name() {
        let config = read(&[("DB_TYPE", "sqlite"), ("DB_NAME", "gpuproxy.db")]);
        assert!(
            matches!(&config.backend, DatabaseBackend::Sqlite { path } if path == &PathBuf::from("./data/gpuproxy.db"))
        );
    }

    #[test]
    fn postgres_parts_become_a_url_with_an_encoded_password() {
        let config = read(&[
            ("DB_TYPE", "postgres"),
            ("DB_HOST", "db"),
            ("DB_PASSWORD", "p@ss:w/rd"),
            ("DB_NAME", "gpuproxy"),
        ]);
        let DatabaseBackend::Postgres { url } = &config.backend else {
            panic!("postgres expected")
        };
        assert_eq!(
            url.expose_secret(),
            "postgres://postgres:p%40ss%3Aw%2Frd@db:5432/gpuproxy?sslmode=disable"
        );
        assert_eq!(config.describe(), "postgres db:5432/gpuproxy");
    }

    #[test]
    fn pgbouncer_in_transaction_mode_turns_off_the_statement_cache() {
        let config = read(&[("DB_TYPE", "postgres"), ("DB_USE_PGBOUNCER", "true")]);
        let DatabaseBackend::Postgres { url } = &config.backend else {
            panic!("postgres expected")
        };
        assert!(url.expose_secret().ends_with("&statement-cache-capacity=0"));
    }

    #[test]
    fn database_url_wins_over_the_parts() {
        let config = read(&[("DB_TYPE", "sqlite"), ("DATABASE_URL", "postgres://u@h/d")]);
        assert!(matches!(config.backend, DatabaseBackend::Postgres { .. }));
    }

    #[test]
    fn a_bad_database_url_is_reported_without_its_value() {
        let env = EnvMap::from_pairs([("DATABASE_URL", "mysql://root:secret@h/d")]);
        let mut reader = Reader::new(&env);
        let config = DatabaseConfig::read(&mut reader);
        let errors = reader.finish(config).expect_err("mysql is not supported");
        assert!(errors.names("DATABASE_URL"));
        assert!(!errors.to_string().contains("secret"));
    }

    #[test]
    fn more_idle_than_maximum_connections_is_refused() {
        let env = EnvMap::from_pairs([("DB_MAX_CONNS", "5"), ("DB_MIN_CONNS", "10")]);
        let mut reader = Reader::new(&env);
        let config = DatabaseConfig::read(&mut reader);
        assert!(
            reader
                .finish(config)
                .expect_err("min > max")
                .names("DB_MIN_CONNS")
        );
    }
}
