//! Fixed one-minute windows of requests, per user and per client address.

use std::net::IpAddr;
use std::time::Duration;

use gpuproxy_domain::Principal;
use gpuproxy_errors::ErrorCode;
use gpuproxy_kv::KvStore;
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::Error;
use crate::config::RateLimitConfig;

const WINDOW: Duration = Duration::from_secs(60);

/// The outcome of counting one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// The limit of the window.
    pub limit: u32,
    /// Requests left in the window after this one.
    pub remaining: u32,
    /// Time until the window starts again.
    pub resets_in: Duration,
    /// Whether this request is within the limit.
    pub allowed: bool,
}

impl RateDecision {
    /// Adds `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds) to `headers`.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let reset = ceil_secs(self.resets_in);
        for (name, value) in [
            ("x-ratelimit-limit", u64::from(self.limit)),
            ("x-ratelimit-remaining", u64::from(self.remaining)),
            ("x-ratelimit-reset", reset),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }

    /// Returns the `RATE_LIMITED` error for a refused request.
    pub fn error(&self) -> Error {
        Error::new(
            ErrorCode::RateLimited,
            format!(
                "rate limit of {} requests per minute exceeded; retry after the window resets",
                self.limit
            ),
        )
        .with_retry_after(self.resets_in)
    }
}

fn failure_key(address: IpAddr) -> String {
    format!("rl:authfail:{address}")
}

/// Rounds up, so a client that waits the advertised seconds always finds the window reset.
pub fn ceil_secs(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis().div_ceil(1000)).unwrap_or(u64::MAX)
}

/// Counts requests in Redis (shared by every gateway replica) or in memory (embedded). When Redis
/// is unreachable requests are let through, with a warning: a broken limiter must not take the API down.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    kv: KvStore,
    config: RateLimitConfig,
}

/// The largest limit an admin may ask for with `X-Rate-Limit-Override`.
const MAX_OVERRIDE: u32 = 1_000_000;

/// The header asking for another limit (lower for anyone, any for admins).
const OVERRIDE_HEADER: HeaderName = HeaderName::from_static("x-rate-limit-override");

impl RateLimiter {
    /// Returns a limiter keeping its windows in `kv`.
    pub fn new(kv: KvStore, config: RateLimitConfig) -> Self {
        RateLimiter { kv, config }
    }

    /// Counts a request of `principal`. `X-Rate-Limit-Override` may lower the limit for anyone and
    /// raise it for admins only.
    pub async fn check_user(&self, principal: &Principal, headers: &HeaderMap) -> Option<RateDecision> {
        let requested = headers
            .get(OVERRIDE_HEADER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u32>().ok())
            .filter(|limit| (1..=MAX_OVERRIDE).contains(limit));
        let limit = match requested {
            Some(limit) if principal.is_admin || limit < self.config.per_minute => limit,
            _ => self.config.per_minute,
        };
        self.check(|| format!("rl:user:{}", principal.user_id), limit)
            .await
    }

    /// Counts an anonymous request (register, login) from `address`.
    pub async fn check_address(&self, address: IpAddr) -> Option<RateDecision> {
        self.check(|| format!("rl:ip:{address}"), self.config.anonymous_per_minute)
            .await
    }

    /// Returns a refusal when `address` sent more failing credentials this minute than the anonymous
    /// limit allows: guessing keys or tokens costs the guesser, not the auth service.
    pub async fn failures_exceeded(&self, address: IpAddr) -> Option<RateDecision> {
        if !self.config.enabled {
            return None;
        }
        let count = match self.kv.get(&failure_key(address)).await {
            Ok(value) => value.and_then(|count| count.parse::<u64>().ok()).unwrap_or(0),
            Err(error) => {
                tracing::warn!(%error, "rate limiter unavailable; letting the request through");
                return None;
            }
        };
        let limit = self.config.anonymous_per_minute;
        (count >= u64::from(limit)).then_some(RateDecision {
            limit,
            remaining: 0,
            resets_in: WINDOW,
            allowed: false,
        })
    }

    /// Counts a failed authentication from `address`.
    pub async fn count_failure(&self, address: IpAddr) {
        self.check(|| failure_key(address), self.config.anonymous_per_minute)
            .await;
    }

    /// Counts a request in the window `key` names. The key is made only when limits are on: with
    /// them off this runs on every request for nothing.
    async fn check(&self, key: impl FnOnce() -> String, limit: u32) -> Option<RateDecision> {
        if !self.config.enabled {
            return None;
        }
        // Boxed: the store's call (a Redis round trip in the fleet) is several kilobytes of state,
        // which every request's future would otherwise carry and move, limits on or off.
        match Box::pin(self.kv.increment_window(&key(), WINDOW)).await {
            Ok(window) => Some(RateDecision {
                limit,
                remaining: u32::try_from(u64::from(limit).saturating_sub(window.count)).unwrap_or(0),
                resets_in: window.resets_in,
                allowed: window.count <= u64::from(limit),
            }),
            Err(error) => {
                tracing::warn!(%error, "rate limiter unavailable; letting the request through");
                None
            }
        }
    }
}
