//! Writing events with the state change, publishing them after.

use std::sync::Arc;
use std::time::Duration;

use gpuproxy_db::{Any, Database, Row, Transaction};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::{BusError, Event, EventBus};

/// Why the outbox could not store or relay an event.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The database refused a statement.
    #[error("outbox storage: {0}")]
    Db(#[from] sqlx::Error),
    /// An event could not be encoded or decoded.
    #[error("outbox payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// The bus refused the event.
    #[error("publishing: {0}")]
    Bus(#[from] BusError),
}

/// Writes a service's events into the `event_outbox` table inside the caller's transaction, so an
/// event exists exactly when its state change committed. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    database: Database,
    source: &'static str,
    wake: Arc<Notify>,
}

/// How often the relay looks for rows written by other processes, and how long it keeps published rows.
#[derive(Debug, Clone, Copy)]
pub struct RelaySettings {
    /// Poll interval when nothing woke the relay (rows written by the admin CLI, say).
    pub poll_interval: Duration,
    /// Published rows older than this are deleted.
    pub retention: Duration,
    /// Longest wait between attempts while the bus is down.
    pub max_backoff: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            poll_interval: Duration::from_millis(500),
            retention: Duration::from_secs(24 * 3600),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Rows published per query; the relay loops at once while a batch comes back full.
const BATCH: i64 = 100;

impl Outbox {
    /// Returns the outbox of `source` (the service's name) in `database`.
    pub fn new(database: Database, source: &'static str) -> Self {
        Outbox {
            database,
            source,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Stores `event` in the caller's transaction. Call [`Outbox::wake`] after the commit.
    pub async fn write(
        &self,
        transaction: &mut Transaction<'_, Any>,
        event: &Event,
    ) -> Result<(), OutboxError> {
        let payload = serde_json::to_string(event)?;
        sqlx::query(
            "INSERT INTO event_outbox (id, source, event, payload, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(event.id.to_string())
        .bind(self.source)
        .bind(event.event.as_str())
        .bind(payload)
        .bind(event.timestamp.timestamp_millis())
        .execute(&mut **transaction)
        .await?;
        Ok(())
    }

    /// Writes `events` in `transaction`, commits it, and wakes the relay: the one way services commit
    /// a state change together with its events.
    pub async fn commit(
        &self,
        mut transaction: Transaction<'_, Any>,
        events: &[Event],
    ) -> Result<(), OutboxError> {
        for event in events {
            self.write(&mut transaction, event).await?;
        }
        transaction.commit().await?;
        if !events.is_empty() {
            self.wake();
        }
        Ok(())
    }

    /// Tells the relay that committed events are waiting, so they go out now rather than at the next poll.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Returns the relay that publishes this outbox's events to `bus`.
    pub fn relay(&self, bus: EventBus, settings: RelaySettings) -> OutboxRelay {
        OutboxRelay {
            outbox: self.clone(),
            bus,
            settings,
        }
    }

    /// Returns when the oldest of this source's unpublished events was written (Unix ms), if any.
    pub async fn oldest_pending_at(&self) -> Result<Option<i64>, OutboxError> {
        let row = sqlx::query(
            "SELECT MIN(created_at) FROM event_outbox WHERE source = $1 AND published_at IS NULL",
        )
        .bind(self.source)
        .fetch_one(self.database.pool())
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?)
    }

    /// Returns how many of this source's events are not yet published.
    pub async fn pending(&self) -> Result<i64, OutboxError> {
        let row = sqlx::query("SELECT COUNT(*) FROM event_outbox WHERE source = $1 AND published_at IS NULL")
            .bind(self.source)
            .fetch_one(self.database.pool())
            .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }
}

/// Publishes committed events in the order they were written, retrying while the bus is down.
///
/// Delivery is at least once: a crash between publishing and marking a row (or two replicas relaying
/// the same rows) can publish an event twice. JetStream drops the copy by message id within two
/// minutes, and consumers deduplicate on the event id.
#[derive(Debug)]
pub struct OutboxRelay {
    outbox: Outbox,
    bus: EventBus,
    settings: RelaySettings,
}

impl OutboxRelay {
    /// Relays until `shutdown`, then makes one last attempt so events committed just before the
    /// shutdown are not left waiting for the next start.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = Duration::ZERO;
        let mut last_cleanup = tokio::time::Instant::now();
        loop {
            let wait = match self.publish_pending().await {
                Ok(published) if published == BATCH => Duration::ZERO,
                Ok(_) => {
                    backoff = Duration::ZERO;
                    self.settings.poll_interval
                }
                Err(error) => {
                    if backoff.is_zero() {
                        // The first failure after a success (or at start-up) says why, loudly, once:
                        // an unusable stream otherwise looks like a quiet system.
                        let problem = self
                            .bus
                            .stream_problem()
                            .await
                            .unwrap_or_else(|| error.to_string());
                        tracing::error!(source = self.outbox.source, %problem, "events cannot be published; they wait in the outbox and are retried");
                    }
                    backoff = (backoff * 2).clamp(Duration::from_millis(100), self.settings.max_backoff);
                    tracing::warn!(source = self.outbox.source, %error, retry_in = ?backoff, "relaying events failed");
                    backoff
                }
            };
            if last_cleanup.elapsed() > self.settings.poll_interval * 120 {
                last_cleanup = tokio::time::Instant::now();
                if let Err(error) = self.delete_published().await {
                    tracing::warn!(source = self.outbox.source, %error, "deleting published events failed");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.outbox.wake.notified(), if backoff.is_zero() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        if let Err(error) = self.publish_pending().await {
            tracing::warn!(source = self.outbox.source, %error, "events remain in the outbox at shutdown");
        }
        Ok(())
    }

    /// Publishes one batch of pending events, oldest first, stopping at the first failure so that
    /// events never overtake each other; returns how many went out.
    pub async fn publish_pending(&self) -> Result<i64, OutboxError> {
        let rows = sqlx::query(
            "SELECT id, payload FROM event_outbox WHERE source = $1 AND published_at IS NULL \
             ORDER BY created_at, id LIMIT $2",
        )
        .bind(self.outbox.source)
        .bind(BATCH)
        .fetch_all(self.outbox.database.pool())
        .await?;
        let mut published = 0;
        for row in rows {
            let id: String = row.try_get("id")?;
            let event: Event = serde_json::from_str(&row.try_get::<String, _>("payload")?)?;
            if let Err(error) = self.bus.publish(&event).await {
                self.record_failure(&id, &error).await?;
                return Err(error.into());
            }
            sqlx::query("UPDATE event_outbox SET published_at = $1 WHERE id = $2")
                .bind(chrono::Utc::now().timestamp_millis())
                .bind(&id)
                .execute(self.outbox.database.pool())
                .await?;
            published += 1;
        }
        Ok(published)
    }

    async fn record_failure(&self, id: &str, error: &BusError) -> Result<(), OutboxError> {
        sqlx::query("UPDATE event_outbox SET attempts = attempts + 1, last_error = $1 WHERE id = $2")
            .bind(error.to_string())
            .bind(id)
            .execute(self.outbox.database.pool())
            .await?;
        Ok(())
    }

    async fn delete_published(&self) -> Result<(), OutboxError> {
        let retention_ms = i64::try_from(self.settings.retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = chrono::Utc::now().timestamp_millis().saturating_sub(retention_ms);
        sqlx::query(
            "DELETE FROM event_outbox WHERE source = $1 AND published_at IS NOT NULL AND published_at < $2",
        )
        .bind(self.outbox.source)
        .bind(cutoff)
        .execute(self.outbox.database.pool())
        .await?;
        Ok(())
    }
}
