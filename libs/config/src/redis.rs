//! Redis variables (`REDIS_*`).

use std::time::Duration;

use secrecy::SecretString;

use crate::Reader;

/// Where Redis is, when it is. Without `REDIS_HOST` the stores that would live in Redis (sessions,
/// rate limits, spend windows) live in process memory instead: the embedded default.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `None` = use in-memory stores.
    pub server: Option<RedisServer>,
    /// Prefix of every key, so several deployments (or tests) can share one Redis (`REDIS_KEY_PREFIX`).
    pub key_prefix: String,
}

/// A Redis server to connect to.
#[derive(Debug, Clone)]
pub struct RedisServer {
    /// `REDIS_HOST`.
    pub host: String,
    /// `REDIS_PORT`.
    pub port: u16,
    /// `REDIS_PASSWORD`.
    pub password: Option<SecretString>,
    /// `REDIS_DB`.
    pub database: u8,
    /// Connections in the pool (`REDIS_POOL_SIZE`).
    pub pool_size: usize,
    /// How long to wait for a connection (`REDIS_DIAL_TIMEOUT`).
    pub connect_timeout: Duration,
    /// How long to wait for a command's answer (`REDIS_READ_TIMEOUT`).
    pub command_timeout: Duration,
}

impl RedisConfig {
    /// Reads the Redis variables.
    pub fn read(reader: &mut Reader<'_>) -> Self {
        let host = reader.optional_string("REDIS_HOST");
        let port = reader.number("REDIS_PORT", 6379u16, 1..=u16::MAX);
        let password = reader.secret("REDIS_PASSWORD");
        let database = reader.number("REDIS_DB", 0u8, 0..=15);
        let pool_size = reader.number("REDIS_POOL_SIZE", 8usize, 1..=1024);
        let connect_timeout = reader.duration("REDIS_DIAL_TIMEOUT", Duration::from_secs(5));
        let command_timeout = reader.duration("REDIS_READ_TIMEOUT", Duration::from_secs(3));
        let key_prefix = reader.string("REDIS_KEY_PREFIX", "gpuproxy:");
        RedisConfig {
            server: host.map(|host| RedisServer {
                host,
                port,
                password,
                database,
                pool_size,
                connect_timeout,
                command_timeout,
            }),
            key_prefix,
        }
    }

    /// Returns a configuration that keeps everything in memory, for tests.
    pub fn in_memory() -> Self {
        RedisConfig {
            server: None,
            key_prefix: "gpuproxy:".to_owned(),
        }
    }

    /// Returns a configuration for a Redis at `host:port` with `key_prefix`, for tests.
    pub fn server(host: &str, port: u16, key_prefix: &str) -> Self {
        RedisConfig {
            server: Some(RedisServer {
                host: host.to_owned(),
                port,
                password: None,
                database: 0,
                pool_size: 4,
                connect_timeout: Duration::from_secs(5),
                command_timeout: Duration::from_secs(3),
            }),
            key_prefix: key_prefix.to_owned(),
        }
    }
}
