//! From the event stream to deliveries: every event becomes one pending delivery per subscription
//! that wants it and may see it (its owner's events, or everybody's for admins who asked).

use std::time::Duration;

use gpuproxy_domain::now_ms;
use gpuproxy_events::{DurableSubscription, Event, EventBus};
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::repo::deliveries::{self, DeliveryRow};
use crate::repo::subscriptions;
use crate::service::{Webhooks, new_id};
use crate::topics;

/// The durable consumer's name: replicas share it, so each event is fanned out by one of them.
pub const CONSUMER: &str = "webhooks";

/// The event stream the fan-out reads. Taken before the fan-out's task starts: on the in-process
/// bus, an event published between start-up and a subscription made inside the task was lost.
pub fn follow(bus: &EventBus) -> DurableSubscription {
    bus.consume(CONSUMER, ">")
}

/// Longest wait before retrying an event whose fan-out failed (the database is down).
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

impl Webhooks {
    /// Queues `event` for every subscription that should receive it; returns how many were queued
    /// (an event seen again queues nothing new).
    pub async fn fan_out(&self, event: &Event) -> Result<u64, Error> {
        let audience = subscriptions::audience(self.database().pool(), event.user_id()).await?;
        let event_ms = event.timestamp.timestamp_millis();
        let mut payload = None;
        let mut rows = Vec::new();
        for subscription in audience {
            // Subscribing does not replay history: the stream may hold days of events.
            if event_ms < subscription.created_at || !topics::wants(&subscription.topics(), &event.event) {
                continue;
            }
            let payload = match &payload {
                Some(payload) => payload,
                None => payload.insert(serde_json::to_string(event).map_err(anyhow::Error::from)?),
            };
            let now = now_ms();
            let row = DeliveryRow {
                id: new_id(),
                subscription_id: subscription.id,
                event_id: event.id.to_string(),
                event: event.event.clone(),
                payload: payload.clone(),
                status: "pending".to_owned(),
                attempts: 0,
                last_status: 0,
                last_error: String::new(),
                created_at: now,
                next_attempt_at: now,
                delivered_at: None,
            };
            rows.push(row);
        }
        let mut queued = 0;
        for batch in rows.chunks(deliveries::INSERT_BATCH) {
            queued += deliveries::insert_once(self.database().pool(), batch).await?;
        }
        if queued > 0 {
            self.wake_sender(rows.iter().map(|row| row.subscription_id.as_str()));
        }
        Ok(queued)
    }

    /// Reads `events` ([`follow`]) until `shutdown`, acknowledging each event once it is queued: a
    /// crash before the acknowledgement only means the event is read again (and queued once).
    pub async fn follow_events(
        self,
        mut events: DurableSubscription,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                received = events.next() => match received {
                    Some(received) => received,
                    None => return Ok(()),
                },
            };
            let mut wait = Duration::from_millis(100);
            loop {
                match self.fan_out(&received.event).await {
                    Ok(_) => break,
                    Err(error) => {
                        tracing::warn!(event = %received.event.id, %error, retry_in = ?wait, "queueing webhook deliveries failed");
                        tokio::select! {
                            () = shutdown.cancelled() => return Ok(()),
                            () = tokio::time::sleep(wait) => {}
                        }
                        wait = (wait * 2).min(MAX_RETRY_WAIT);
                    }
                }
            }
            if let Err(error) = received.ack().await {
                tracing::warn!(%error, "acknowledging an event failed; it will be read again and queued once");
            }
        }
    }
}
