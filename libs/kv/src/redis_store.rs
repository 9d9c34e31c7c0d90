//! The store in Redis.

use std::time::Duration;

use fred::prelude::{
    Builder, ClientLike, Config, Expiration, KeysInterface, LuaInterface, Pool, ReconnectPolicy,
    ServerConfig, SetOptions,
};
use gpuproxy_config::{ExposeSecret, RedisServer};

use crate::{KvError, WindowCount};

/// Increments a window counter, opening the window on the first increment, and returns the count
/// and the milliseconds until the window closes. One script, so the increment and the expiry can
/// never be separated by a crash or a concurrent caller.
const INCREMENT_WINDOW: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

/// A store in Redis, shared by every process that uses the same server and prefix.
#[derive(Debug, Clone)]
pub struct RedisStore {
    pool: Pool,
    prefix: String,
}

impl RedisStore {
    pub(crate) async fn connect(server: &RedisServer, prefix: &str) -> Result<Self, KvError> {
        let config = Config {
            server: ServerConfig::new_centralized(&server.host, server.port),
            password: server
                .password
                .as_ref()
                .map(|password| password.expose_secret().to_owned()),
            database: (server.database != 0).then_some(server.database),
            ..Config::default()
        };
        let pool = Builder::from_config(config)
            .with_connection_config(|connection| connection.connection_timeout = server.connect_timeout)
            .with_performance_config(|performance| {
                performance.default_command_timeout = server.command_timeout
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
            .build_pool(server.pool_size)?;
        pool.init().await?;
        tracing::info!(host = %server.host, port = server.port, prefix, "connected to redis");
        Ok(RedisStore {
            pool,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub(crate) async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), KvError> {
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        self.pool
            .set::<(), _, _>(self.key(key), value, Some(Expiration::PX(millis)), None, false)
            .await?;
        Ok(())
    }

    pub(crate) async fn set_if_absent(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, KvError> {
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1);
        let stored: Option<String> = self
            .pool
            .set(
                self.key(key),
                value,
                Some(Expiration::PX(millis)),
                Some(SetOptions::NX),
                false,
            )
            .await?;
        Ok(stored.is_some())
    }

    pub(crate) async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        Ok(self.pool.get::<Option<String>, _>(self.key(key)).await?)
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.pool.del::<i64, _>(self.key(key)).await? > 0)
    }

    pub(crate) async fn increment_window(&self, key: &str, window: Duration) -> Result<WindowCount, KvError> {
        let millis = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1);
        let (count, ttl): (i64, i64) = self
            .pool
            .eval(INCREMENT_WINDOW, vec![self.key(key)], vec![millis])
            .await?;
        Ok(WindowCount {
            count: u64::try_from(count).unwrap_or(0),
            resets_in: Duration::from_millis(u64::try_from(ttl).unwrap_or(0)),
        })
    }

    pub(crate) async fn ping(&self) -> bool {
        self.pool.ping::<String>(None).await.is_ok()
    }
}
