//! The store in Redis.

use std::time::Duration;

use fred::prelude::{
    Builder, ClientLike, Config, Expiration, KeysInterface, LuaInterface, Pool, ReconnectPolicy,
    ServerConfig, SetOptions,
};
use gpuproxy_config::{ExposeSecret, RedisServer};

use crate::ledger::{LedgerMode, LedgerOutcome, LedgerWindow, Once};
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

/// A sliding-window ledger in one hash (see [`crate::ledger`] for the buckets), summed and
/// appended to in one step. Per window of `L` ms: `t<L>` its running total, `o<L>` the index of
/// its oldest bucket that may hold an amount, `b<L>:<index>` the buckets (index = time / step);
/// `g` the ledger's generation (Redis's clock in µs when it was created or a window last reset).
/// Buckets that fell out of the window are subtracted and deleted as the window passes them, at
/// most a window's worth per call, so a call costs the same however much the user spent.
/// KEYS[1] the ledger; KEYS[2], when given, remembers the decision (`1:<now>:<amount>:<g>`
/// appended, `0` not: [`crate::ledger::Decided`]) so a second call with it appends nothing and
/// answers the first decision.
/// ARGV: now, amount, mode (check|reserve|force), once ttl ms, then (window ms, step ms, limit)
/// triples, the step being [`crate::ledger::step`] of the window.
/// Returns {appended, replayed, totals before the append…}.
const LEDGER: &str = r"
local now = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local mode = ARGV[3]
local decided = false
if KEYS[2] then
  decided = redis.call('GET', KEYS[2])
  if decided then mode = 'check' end
end
local fields = {}
for i = 5, #ARGV, 3 do
  fields[#fields + 1] = 't' .. ARGV[i]
  fields[#fields + 1] = 'o' .. ARGV[i]
end
local windows = #fields / 2
fields[#fields + 1] = 'g'
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
local generation = stored[#fields]
local totals, oldest, steps, changed = {}, {}, {}, {}
local fits = true
local longest = 1
for k = 1, windows do
  local length = tonumber(ARGV[2 + 3 * k])
  local step = tonumber(ARGV[3 + 3 * k])
  local limit = tonumber(ARGV[4 + 3 * k])
  local span = math.floor(length / step) + 1
  local first = math.floor((now - length) / step)
  local total = tonumber(stored[2 * k - 1]) or 0
  local from = tonumber(stored[2 * k])
  if from and from < first then
    local last = math.min(first - 1, from + span)
    for index = from, last do
      local field = 'b' .. length .. ':' .. string.format('%d', index)
      local value = redis.call('HGET', KEYS[1], field)
      if value then
        total = total - tonumber(value)
        redis.call('HDEL', KEYS[1], field)
      end
    end
    if last < first - 1 then total = 0 end
    changed[k] = true
  end
  if not from or from < first then from = first end
  totals[k], oldest[k], steps[k] = total, from, step
  if limit > 0 and total + amount > limit then fits = false end
  longest = math.max(longest, length + step)
end
local appended = mode == 'force' or (mode == 'reserve' and fits)
local updates = {}
for k = 1, #totals do
  local length = ARGV[2 + 3 * k]
  if appended then
    local index = math.max(math.floor(now / steps[k]), oldest[k])
    redis.call('HINCRBY', KEYS[1], 'b' .. length .. ':' .. string.format('%d', index), ARGV[2])
  end
  if appended or changed[k] then
    updates[#updates + 1] = 't' .. length
    updates[#updates + 1] = string.format('%d', totals[k] + (appended and amount or 0))
    updates[#updates + 1] = 'o' .. length
    updates[#updates + 1] = string.format('%d', oldest[k])
  end
end
if appended and not generation then
  local time = redis.call('TIME')
  generation = time[1] .. string.format('%06d', tonumber(time[2]))
  updates[#updates + 1] = 'g'
  updates[#updates + 1] = generation
end
if #updates > 0 then redis.call('HSET', KEYS[1], unpack(updates)) end
if appended then redis.call('PEXPIRE', KEYS[1], longest) end
if KEYS[2] and not decided then
  local decision = '0'
  if appended then decision = '1:' .. ARGV[1] .. ':' .. ARGV[2] .. ':' .. generation end
  redis.call('SET', KEYS[2], decision, 'PX', ARGV[4])
end
local result = {}
if decided then
  result[1], result[2] = (string.sub(decided, 1, 1) == '1') and 1 or 0, 1
else
  result[1], result[2] = appended and 1 or 0, 0
end
for k = 1, #totals do result[#result + 1] = totals[k] end
return result
";

/// Takes back what a [`LEDGER`] call with a once key appended, or part of it, from every window
/// whose bucket still holds it, unless the ledger's generation changed since (see
/// [`crate::ledger::Decided`]). KEYS[1] the ledger, KEYS[2] the once key. ARGV: amount (0 = all
/// that is left), then (window ms, step ms) pairs. Returns what the key gave back.
const RELEASE_LEDGER: &str = r"
local decided = redis.call('GET', KEYS[2])
if not decided then return 0 end
local at, left, generation = string.match(decided, '^1:(%-?%d+):(%-?%d+):(.+)$')
if not at then return 0 end
at, left = tonumber(at), tonumber(left)
local amount = tonumber(ARGV[1])
local taken = left
if amount > 0 and amount < left then taken = amount end
if taken <= 0 then return 0 end
if redis.call('HGET', KEYS[1], 'g') == generation then
  for i = 2, #ARGV, 2 do
    local length = ARGV[i]
    local field = 'b' .. length .. ':' .. string.format('%d', math.floor(at / tonumber(ARGV[i + 1])))
    local held = tonumber(redis.call('HGET', KEYS[1], field))
    if held then
      local out = math.min(taken, held)
      if out >= held then
        redis.call('HDEL', KEYS[1], field)
      else
        redis.call('HINCRBY', KEYS[1], field, -out)
      end
      redis.call('HINCRBY', KEYS[1], 't' .. length, -out)
    end
  end
end
local rest = string.format('%d', at) .. ':' .. string.format('%d', left - taken) .. ':' .. generation
redis.call('SET', KEYS[2], '1:' .. rest, 'KEEPTTL')
return taken
";

/// Empties one window of a ledger (see [`LEDGER`]), leaving the other windows as they are, and
/// gives the ledger a new generation.
/// ARGV: now, window ms, step ms.
const RESET_LEDGER_WINDOW: &str = r"
local now = tonumber(ARGV[1])
local length = ARGV[2]
local from = tonumber(redis.call('HGET', KEYS[1], 'o' .. length))
if not from then return 0 end
local step = tonumber(ARGV[3])
local last = math.max(math.floor(now / step), from + math.floor(tonumber(length) / step) + 1)
for index = from, last do
  redis.call('HDEL', KEYS[1], 'b' .. length .. ':' .. string.format('%d', index))
end
redis.call('HDEL', KEYS[1], 't' .. length, 'o' .. length)
if redis.call('EXISTS', KEYS[1]) == 1 then
  local time = redis.call('TIME')
  redis.call('HSET', KEYS[1], 'g', time[1] .. string.format('%06d', tonumber(time[2])))
end
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
        once: Option<Once<'_>>,
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
        let mut keys = vec![self.key(key)];
        keys.extend(once.map(|once| self.key(once.key)));
        let once_ttl = once.map_or(1, |once| crate::ledger::millis(once.ttl));
        let mut args: Vec<String> = vec![
            now.to_string(),
            amount.to_string(),
            mode_name.to_owned(),
            once_ttl.to_string(),
        ];
        for window in windows {
            let length = crate::ledger::millis(window.length);
            args.push(length.to_string());
            args.push(crate::ledger::step(length).to_string());
            args.push(window.limit.to_string());
        }
        let reply: Vec<i64> = self.pool.eval(LEDGER, keys, args).await?;
        match reply.as_slice() {
            [appended, replayed, totals @ ..] => Ok(LedgerOutcome {
                appended: *appended == 1,
                replayed: *replayed == 1,
                totals: totals.to_vec(),
            }),
            _ => Err(KvError::Reply("the ledger script answered too little".to_owned())),
        }
    }

    pub(crate) async fn ledger_release(
        &self,
        key: &str,
        once_key: &str,
        amount: i64,
        lengths: &[Duration],
    ) -> Result<i64, KvError> {
        let mut args = vec![amount];
        for length in lengths {
            let length = crate::ledger::millis(*length);
            args.push(length);
            args.push(crate::ledger::step(length));
        }
        let keys = vec![self.key(key), self.key(once_key)];
        Ok(self.pool.eval(RELEASE_LEDGER, keys, args).await?)
    }

    pub(crate) async fn reset_ledger_window(
        &self,
        key: &str,
        now: i64,
        length: Duration,
    ) -> Result<(), KvError> {
        let length = crate::ledger::millis(length);
        let args = vec![now, length, crate::ledger::step(length)];
        self.pool
            .eval::<i64, _, _, _>(RESET_LEDGER_WINDOW, vec![self.key(key)], args)
            .await?;
        Ok(())
    }

    pub(crate) async fn ping(&self) -> bool {
        self.pool.ping::<String>(None).await.is_ok()
    }
}
