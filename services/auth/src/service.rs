//! The auth service's use cases share this handle.

use std::sync::Arc;

use gpuproxy_db::{Any, Database, Transaction};
use gpuproxy_events::{Event, Outbox};
use gpuproxy_kv::KvStore;

use crate::Error;
use crate::config::Config;
use crate::passwords::Passwords;
use crate::session_store::SessionStore;
use crate::tokens::Tokens;

/// The auth service's operations, free of transport types: the gRPC layer, the admin CLI and tests
/// call the same methods. Cheap to clone. Each use case lives in a file of its own (`register.rs`,
/// `login.rs`, `authenticate.rs`, `api_keys.rs`, `users.rs`).
#[derive(Debug, Clone)]
pub struct AuthService {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) database: Database,
    pub(crate) outbox: Outbox,
    pub(crate) sessions: SessionStore,
    pub(crate) tokens: Tokens,
    pub(crate) passwords: Passwords,
    pub(crate) password_min_length: usize,
}

/// The `source` of the auth service's rows in the event outbox.
pub const OUTBOX_SOURCE: &str = "auth";

impl AuthService {
    /// Returns the service over `database` (already migrated) and `kv` (for sessions).
    pub fn new(config: &Config, database: Database, kv: KvStore) -> Self {
        AuthService {
            inner: Arc::new(Inner {
                outbox: Outbox::new(database.clone(), OUTBOX_SOURCE),
                sessions: SessionStore::new(config.session_mode, database.clone(), kv, config.jwt.expiration),
                tokens: Tokens::new(&config.jwt),
                passwords: Passwords::default(),
                password_min_length: config.password_min_length,
                database,
            }),
        }
    }

    /// Returns the outbox, whose relay the app runs.
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// Marks an ended session in this process's session cache, for revocation events from other replicas.
    pub async fn bury_session(&self, session_id: &str) -> Result<(), Error> {
        self.inner.sessions.bury(session_id).await
    }

    /// Returns the database, for health checks.
    pub fn database(&self) -> &Database {
        &self.inner.database
    }

    /// Starts a transaction.
    pub(crate) async fn begin(&self) -> Result<Transaction<'static, Any>, Error> {
        Ok(self.inner.database.pool().begin().await?)
    }

    /// Writes `events` into the outbox inside `transaction`, commits, and wakes the relay.
    pub(crate) async fn commit_with_events(
        &self,
        mut transaction: Transaction<'static, Any>,
        events: &[Event],
    ) -> Result<(), Error> {
        for event in events {
            self.inner.outbox.write(&mut transaction, event).await?;
        }
        transaction.commit().await?;
        if !events.is_empty() {
            self.inner.outbox.wake();
        }
        Ok(())
    }
}

/// Builds an event, turning an encoding failure (a bug) into an internal error.
pub(crate) fn event(name: &str, data: &impl serde::Serialize) -> Result<Event, Error> {
    Event::new(name, data).map_err(|error| Error::Internal(anyhow::anyhow!("encoding event {name}: {error}")))
}
