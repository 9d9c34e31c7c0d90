//! The store in Redis.

use std::time::Duration;

use fred::prelude::{
    Builder, ClientLike, Config, Expiration, KeysInterface, LuaInterface, Pool, ReconnectPolicy,
    ServerConfig, SetOptions,
};
use gpuproxy_config::{ExposeSecret, RedisServer};

use crate::ledger::{LedgerMode, LedgerOutcome, LedgerWindow};
use crate::{KvError, WindowCount};

/// Per-process counter for ledger member nonces.
static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

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

/// Sums a sliding-window ledger (a sorted set scored by time, members `<time>:<nonce>:<amount>`)
/// over each window and appends the amount when the mode and the limits allow, in one step.
/// A member `reset:<window ms>` scored with a time makes that window forget entries from before then;
/// entries of that very millisecond still count, since over-counting is the safe side of a limit.
/// ARGV: now, amount, mode (check|reserve|force), member, then (window ms, limit) pairs.
const LEDGER: &str = r"
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local mode = ARGV[3]
local longest = 1
for i = 5, #ARGV, 2 do longest = math.max(longest, tonumber(ARGV[i])) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
local entries = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - longest), '+inf', 'WITHSCORES')
local resets = {}
for j = 1, #entries, 2 do
  local length = string.match(entries[j], '^reset:(%d+)$')
  if length then resets[tonumber(length)] = tonumber(entries[j + 1]) end
end
local totals = {}
local starts = {}
for i = 5, #ARGV, 2 do
  local length = tonumber(ARGV[i])
  local start = now - length
  if resets[length] and resets[length] - 1 > start then start = resets[length] - 1 end
  totals[#totals + 1] = 0
  starts[#starts + 1] = start
end
for j = 1, #entries, 2 do
  if string.sub(entries[j], 1, 6) ~= 'reset:' then
    local value = tonumber(string.match(entries[j], ':(%-?%d+)$'))
    local at = tonumber(entries[j + 1])
    for k = 1, #starts do
      if at > starts[k] then totals[k] = totals[k] + value end
    end
  end
end
local fits = true
local k = 1
for i = 5, #ARGV, 2 do
  local limit = tonumber(ARGV[i + 1])
  if limit > 0 and totals[k] + amount > limit then fits = false end
  k = k + 1
end
local appended = 0
if mode == 'force' or (mode == 'reserve' and fits) then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], longest)
  appended = 1
end
local result = {appended}
for i = 1, #totals do result[#result + 1] = totals[i] end
return result
";

/// Marks one window of a ledger as reset now (see [`LEDGER`]). A ledger that is gone holds nothing
/// to forget, so none is created; the key lives at least as long as the mark matters.
/// ARGV: now, window ms.
const RESET_LEDGER_WINDOW: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], 'reset:' .. ARGV[2])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1
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

    pub(crate) async fn ledger(
        &self,
        key: &str,
        now: i64,
        amount: i64,
        windows: &[LedgerWindow],
        mode: LedgerMode,
    ) -> Result<LedgerOutcome, KvError> {
        let mode_name = match mode {
            LedgerMode::Check => "check",
            LedgerMode::Reserve => "reserve",
            LedgerMode::Force => "force",
        };
        // The nonce keeps two equal amounts in the same millisecond from collapsing into one member.
        let nonce = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut args: Vec<String> = vec![
            now.to_string(),
            amount.to_string(),
            mode_name.to_owned(),
            format!("{now}:{}-{nonce}:{amount}", std::process::id()),
        ];
        for window in windows {
            args.push(crate::ledger::millis(window.length).to_string());
            args.push(window.limit.to_string());
        }
        let reply: Vec<i64> = self.pool.eval(LEDGER, vec![self.key(key)], args).await?;
        let (appended, totals) = reply
            .split_first()
            .map_or((false, Vec::new()), |(first, rest)| (*first == 1, rest.to_vec()));
        Ok(LedgerOutcome { appended, totals })
    }

    pub(crate) async fn reset_ledger_window(
        &self,
        key: &str,
        now: i64,
        length: Duration,
    ) -> Result<(), KvError> {
        let args = vec![now, crate::ledger::millis(length)];
        self.pool
            .eval::<i64, _, _, _>(RESET_LEDGER_WINDOW, vec![self.key(key)], args)
            .await?;
        Ok(())
    }

    pub(crate) async fn ping(&self) -> bool {
        self.pool.ping::<String>(None).await.is_ok()
    }
}
