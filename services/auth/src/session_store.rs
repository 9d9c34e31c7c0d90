//! Where sessions live: SQL, Redis, or both.

#[cfg(test)]
mod tests;

use std::time::Duration;

use gpuproxy_db::{Any, Database, Transaction};
use gpuproxy_domain::{UserId, now_ms};
use gpuproxy_kv::KvStore;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::config::SessionMode;
use crate::repo::sessions::{self, SessionRecord};

/// What a session check needs, as cached in Redis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveSession {
    /// The session.
    pub session_id: String,
    /// Its user.
    pub user_id: UserId,
    /// Unix ms.
    pub expires_at: i64,
}

/// The cached value of an ended session. It outlives every token of the session, so no later
/// refill from the database (which may have read the row just before the logout committed) can
/// bring the session back.
const TOMBSTONE: &str = "ended";

/// Keeps sessions in the database, in Redis (process memory without Redis), or both, as `SESSION_MODE`
/// says. Logout ends a session in every place it is kept, so it ends at once everywhere.
#[derive(Debug, Clone)]
pub struct SessionStore {
    mode: SessionMode,
    database: Database,
    kv: KvStore,
    /// The longest a session lives: how long a tombstone must last.
    lifetime: Duration,
}

fn kv_key(session_id: &str) -> String {
    format!("session:{session_id}")
}

impl SessionStore {
    /// Returns the store for `mode`; sessions live at most `lifetime`.
    pub fn new(mode: SessionMode, database: Database, kv: KvStore, lifetime: Duration) -> Self {
        SessionStore {
            mode,
            database,
            kv,
            lifetime,
        }
    }

    fn uses_sql(&self) -> bool {
        matches!(self.mode, SessionMode::Sql | SessionMode::Balanced)
    }

    fn uses_kv(&self) -> bool {
        matches!(self.mode, SessionMode::Redis | SessionMode::Balanced)
    }

    /// Records a new session: its row inside `transaction` (SQL modes). Call [`SessionStore::publish`]
    /// after the commit.
    pub async fn create(
        &self,
        transaction: &mut Transaction<'_, Any>,
        session: &SessionRecord,
    ) -> Result<(), Error> {
        if self.uses_sql() {
            sessions::insert(&mut **transaction, session).await?;
        }
        Ok(())
    }

    /// Makes a committed session visible in Redis (Redis modes).
    pub async fn publish(&self, session: &SessionRecord) -> Result<(), Error> {
        if !self.uses_kv() {
            return Ok(());
        }
        let cached = ActiveSession {
            session_id: session.id.clone(),
            user_id: session.user_id,
            expires_at: session.expires_at,
        };
        match self.cache(&cached).await {
            Ok(()) => Ok(()),
            // Balanced mode still has the row; the next check reads it and fills the cache.
            Err(error) if self.mode == SessionMode::Balanced => {
                tracing::warn!(%error, "caching a session failed; the database keeps it");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Returns the session if it exists, has not ended and has not expired.
    pub async fn find(&self, session_id: &str) -> Result<Option<ActiveSession>, Error> {
        let now = now_ms();
        if self.uses_kv() {
            match self.kv.get(&kv_key(session_id)).await {
                Ok(Some(value)) if value == TOMBSTONE => return Ok(None),
                Ok(Some(json)) => {
                    let session: ActiveSession = serde_json::from_str(&json)
                        .map_err(|error| anyhow::anyhow!("a cached session is not valid JSON: {error}"))?;
                    return Ok((session.expires_at > now).then_some(session));
                }
                Ok(None) if self.mode == SessionMode::Redis => return Ok(None),
                Ok(None) => {}
                Err(error) if self.mode == SessionMode::Balanced => {
                    tracing::warn!(%error, "session cache unavailable; reading the database");
                }
                Err(error) => return Err(error.into()),
            }
        }
        let Some(record) = sessions::find(self.database.pool(), session_id).await? else {
            return Ok(None);
        };
        if record.revoked_at.is_some() || record.expires_at <= now {
            return Ok(None);
        }
        let session = ActiveSession {
            session_id: record.id,
            user_id: record.user_id,
            expires_at: record.expires_at,
        };
        if self.uses_kv() {
            // Only into an empty slot: a tombstone written meanwhile wins over what was read.
            let remaining = Duration::from_millis(u64::try_from(session.expires_at - now).unwrap_or(0));
            let json = serde_json::to_string(&session)
                .map_err(|error| anyhow::anyhow!("encoding a session: {error}"))?;
            if let Err(error) = self.kv.set_if_absent(&kv_key(session_id), &json, remaining).await {
                tracing::debug!(%error, "refilling the session cache failed");
            }
        }
        Ok(Some(session))
    }

    /// Ends `user_id`'s session: marks its row inside `transaction` (SQL modes). Returns whether the
    /// session was active. Call [`SessionStore::bury`] after the commit.
    pub async fn revoke(
        &self,
        transaction: &mut Transaction<'_, Any>,
        session_id: &str,
        user_id: UserId,
    ) -> Result<bool, Error> {
        if self.uses_sql() {
            return Ok(sessions::revoke(&mut **transaction, session_id, user_id, now_ms()).await?);
        }
        let cached = self.kv.get(&kv_key(session_id)).await?;
        let active = cached
            .filter(|value| value != TOMBSTONE)
            .and_then(|json| serde_json::from_str::<ActiveSession>(&json).ok())
            .is_some_and(|session| session.user_id == user_id && session.expires_at > now_ms());
        Ok(active)
    }

    /// Marks an ended session in Redis (Redis modes), for longer than any of its tokens lives. Runs
    /// after the commit, and again on every replica when the revocation event arrives.
    pub async fn bury(&self, session_id: &str) -> Result<(), Error> {
        if self.uses_kv() {
            self.kv.set(&kv_key(session_id), TOMBSTONE, self.lifetime).await?;
        }
        Ok(())
    }

    async fn cache(&self, session: &ActiveSession) -> Result<(), Error> {
        let remaining = u64::try_from(session.expires_at - now_ms()).unwrap_or(0);
        if remaining == 0 {
            return Ok(());
        }
        let json =
            serde_json::to_string(session).map_err(|error| anyhow::anyhow!("encoding a session: {error}"))?;
        self.kv
            .set(
                &kv_key(&session.session_id),
                &json,
                Duration::from_millis(remaining),
            )
            .await?;
        Ok(())
    }
}
