//! The limits a user's checks use: the global `GUARDRAILS_MAX_<W>_RATE`, with an admin's per-user
//! overrides on top. Overrides live in the database (they must outlive a restart, which the
//! embedded memory store does not) and are cached per replica for `GUARDRAILS_LIMITS_CACHE_TTL`: the
//! replica that makes a change drops its entry at once, the others see it once theirs expires.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use gpuproxy_db::Database;
use gpuproxy_domain::{SpendWindow, UsdMicros, UserId, now_ms};
use moka::future::Cache;

use crate::error::Error;
use crate::repo;

/// The largest override: a billion dollars, far below where the Lua script's doubles lose cents.
const MAX_LIMIT_MICROS: i64 = 1_000_000_000 * UsdMicros::PER_DOLLAR;
/// Users whose limits one replica keeps cached.
const CACHE_CAPACITY: u64 = 100_000;

/// One window's limit for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserWindowLimit {
    /// The window.
    pub window: SpendWindow,
    /// The limit checks use (zero = none).
    pub limit: UsdMicros,
    /// `GUARDRAILS_MAX_<W>_RATE`.
    pub global: UsdMicros,
    /// Whether an admin set `limit` for this user.
    pub overridden: bool,
}

/// Global limits, per-user overrides and the cache in front of them. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Limits {
    global: Arc<[(SpendWindow, UsdMicros)]>,
    database: Database,
    cache_ttl: Duration,
    /// `None` when the TTL is zero: every check reads the database.
    cache: Option<Cache<UserId, Arc<[UserWindowLimit]>>>,
}

impl Limits {
    /// Returns the limits over `global` (one per window, shortest first) and the overrides in `database`.
    pub fn new(global: &[(SpendWindow, UsdMicros)], database: Database, cache_ttl: Duration) -> Self {
        let cache = (!cache_ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(cache_ttl)
                .build()
        });
        Limits {
            global: global.into(),
            database,
            cache_ttl,
            cache,
        }
    }

    /// Returns the global limits, shortest window first.
    pub fn global(&self) -> &[(SpendWindow, UsdMicros)] {
        &self.global
    }

    /// Returns how long another replica may still use limits changed here.
    pub fn cache_ttl(&self) -> Duration {
        self.cache_ttl
    }

    /// Returns the database, for health probes.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// Returns the user's limit in every window, shortest first.
    pub async fn of(&self, user_id: UserId) -> Result<Arc<[UserWindowLimit]>, Error> {
        if let Some(cached) = self.cached(user_id).await {
            return Ok(cached);
        }
        let rows = repo::overrides(self.database.pool(), user_id).await?;
        let overrides: BTreeMap<SpendWindow, i64> = rows
            .into_iter()
            .filter_map(|(label, micros)| match label.parse::<SpendWindow>() {
                Ok(window) => Some((window, micros)),
                Err(error) => {
                    tracing::warn!(%user_id, %error, "ignoring a stored limit of an unknown window");
                    None
                }
            })
            .collect();
        let limits: Arc<[UserWindowLimit]> = self
            .global
            .iter()
            .map(|(window, global)| {
                let own = overrides.get(window).copied();
                UserWindowLimit {
                    window: *window,
                    limit: own.map_or(*global, UsdMicros::from_micros),
                    global: *global,
                    overridden: own.is_some(),
                }
            })
            .collect();
        if let Some(cache) = &self.cache {
            cache.insert(user_id, limits.clone()).await;
        }
        Ok(limits)
    }

    /// Overrides the named windows' limits for the user, all or none; the other windows keep theirs.
    pub async fn set(
        &self,
        user_id: UserId,
        limits: &[(SpendWindow, UsdMicros)],
        set_by: &str,
    ) -> Result<Arc<[UserWindowLimit]>, Error> {
        if limits.is_empty() {
            return Err(Error::invalid("limits", "must name at least one window"));
        }
        let mut named = std::collections::BTreeSet::new();
        for (window, limit) in limits {
            if !named.insert(*window) {
                return Err(Error::invalid("limits", format!("name {window} once")));
            }
            if !(0..=MAX_LIMIT_MICROS).contains(&limit.micros()) {
                return Err(Error::invalid(
                    "limits",
                    format!("{window} must be from 0 (no limit) to 1000000000 USD"),
                ));
            }
        }
        let now_ms = now_ms();
        let mut transaction = self.database.pool().begin().await?;
        for (window, limit) in limits {
            let label = window.label();
            let row = repo::Override {
                user_id,
                window: &label,
                limit_micros: limit.micros(),
                set_by,
                now_ms,
            };
            repo::upsert(&mut *transaction, row).await?;
        }
        transaction.commit().await?;
        tracing::info!(
            %user_id,
            set_by,
            windows = limits.len(),
            "guard-rail limits overridden"
        );
        self.forget(user_id).await;
        self.of(user_id).await
    }

    /// Removes the overrides of `windows` (of every window when empty): they fall back to the global limits.
    pub async fn clear(
        &self,
        user_id: UserId,
        windows: &[SpendWindow],
    ) -> Result<Arc<[UserWindowLimit]>, Error> {
        if windows.is_empty() {
            repo::delete_all(self.database.pool(), user_id).await?;
        } else {
            let mut transaction = self.database.pool().begin().await?;
            for window in windows {
                repo::delete_window(&mut *transaction, user_id, &window.label()).await?;
            }
            transaction.commit().await?;
        }
        tracing::info!(
            %user_id,
            windows = windows.len(),
            "guard-rail limit overrides cleared"
        );
        self.forget(user_id).await;
        self.of(user_id).await
    }

    async fn cached(&self, user_id: UserId) -> Option<Arc<[UserWindowLimit]>> {
        self.cache.as_ref()?.get(&user_id).await
    }

    async fn forget(&self, user_id: UserId) {
        if let Some(cache) = &self.cache {
            cache.invalidate(&user_id).await;
        }
    }
}

/// Parses a window's label, blaming `field` when it is not one of the 17.
pub fn parse_window(field: &'static str, label: &str) -> Result<SpendWindow, Error> {
    label
        .parse::<SpendWindow>()
        .map_err(|error| Error::invalid(field, error.to_string()))
}
