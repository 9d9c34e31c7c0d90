//! The event envelope.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The names of the domain events; each is published on `<prefix>.<name>`. Payloads are the messages
/// of `proto/gpuproxy/events/v1/events.proto`.
pub mod names {
    /// A user registered (`UserCreated`).
    pub const AUTH_USER_CREATED: &str = "auth.user.created";
    /// A user's role changed (`UserUpdated`).
    pub const AUTH_USER_UPDATED: &str = "auth.user.updated";
    /// An API key was created (`ApiKeyCreated`).
    pub const AUTH_APIKEY_CREATED: &str = "auth.apikey.created";
    /// An API key was revoked (`ApiKeyRevoked`).
    pub const AUTH_APIKEY_REVOKED: &str = "auth.apikey.revoked";
    /// A session ended by logout (`SessionRevoked`).
    pub const AUTH_SESSION_REVOKED: &str = "auth.session.revoked";
    /// A provider's circuit breaker opened: its offers are missing or stale (`ProviderDegraded`).
    pub const CATALOG_PROVIDER_DEGRADED: &str = "catalog.provider.degraded";
    /// A provider answered again after being degraded (`ProviderRecovered`).
    pub const CATALOG_PROVIDER_RECOVERED: &str = "catalog.provider.recovered";
    /// A user's spending reached 80 % of a guard-rail window's limit (`GuardrailsWarning`).
    pub const GUARDRAILS_WARNING: &str = "guardrails.warning";
    /// Spending was refused (or, in shadow mode, would have been) by a guard-rail window (`GuardrailsExceeded`).
    pub const GUARDRAILS_EXCEEDED: &str = "guardrails.exceeded";
    /// An offer was rented for a user (`InstanceCreated`).
    pub const INSTANCE_CREATED: &str = "instance.created";
    /// The provider confirmed an instance terminated (`InstanceDestroyed`).
    pub const INSTANCE_DESTROYED: &str = "instance.destroyed";
    /// Every slot of a reservation was filled (`ReservationCreated`).
    pub const RESERVATION_CREATED: &str = "reservation.created";
    /// Some slots of a reservation could not be filled (`ReservationPartial`).
    pub const RESERVATION_PARTIAL: &str = "reservation.partial";
    /// A payment settled and its credits were added (`PaymentCompleted`).
    pub const PAYMENT_COMPLETED: &str = "payment.completed";
    /// A payment was declined, failed or expired; nothing was credited (`PaymentFailed`).
    pub const PAYMENT_FAILED: &str = "payment.failed";
    /// A debit took a user's balance below the low-credit threshold (`CreditsLow`).
    pub const CREDITS_LOW: &str = "credits.low";
    /// Auto-renewal charged the user's saved payment method and credited it (`SubscriptionRenewed`).
    pub const SUBSCRIPTION_RENEWED: &str = "subscription.renewed";
    /// An agent's task started or reported progress (`AgentTaskUpdated`).
    pub const AGENT_TASK_WORKING: &str = "agent.task.working";
    /// An agent's task ended with its action's result (`AgentTaskUpdated`).
    pub const AGENT_TASK_COMPLETED: &str = "agent.task.completed";
    /// An agent's task ended with its action's error (`AgentTaskUpdated`).
    pub const AGENT_TASK_FAILED: &str = "agent.task.failed";
    /// An agent's task was canceled by its user (`AgentTaskUpdated`).
    pub const AGENT_TASK_CANCELED: &str = "agent.task.canceled";

    /// A model was uploaded, validated and is served (`ModelReady`).
    pub const MODEL_READY: &str = "model.ready";
    /// An upload was refused: its format is not served, or it is corrupt (`ModelFailed`).
    pub const MODEL_FAILED: &str = "model.failed";
    /// A model and its artifact were deleted (`ModelDeleted`).
    pub const MODEL_DELETED: &str = "model.deleted";

    /// Every event name, for validating what subscribers ask for.
    pub const ALL: [&str; 24] = [
        AUTH_USER_CREATED,
        AUTH_USER_UPDATED,
        AUTH_APIKEY_CREATED,
        AUTH_APIKEY_REVOKED,
        AUTH_SESSION_REVOKED,
        CATALOG_PROVIDER_DEGRADED,
        CATALOG_PROVIDER_RECOVERED,
        GUARDRAILS_WARNING,
        GUARDRAILS_EXCEEDED,
        INSTANCE_CREATED,
        INSTANCE_DESTROYED,
        RESERVATION_CREATED,
        RESERVATION_PARTIAL,
        PAYMENT_COMPLETED,
        PAYMENT_FAILED,
        CREDITS_LOW,
        SUBSCRIPTION_RENEWED,
        AGENT_TASK_WORKING,
        AGENT_TASK_COMPLETED,
        AGENT_TASK_FAILED,
        AGENT_TASK_CANCELED,
        MODEL_READY,
        MODEL_FAILED,
        MODEL_DELETED,
    ];
}

/// One domain event, as it travels on the bus and (later) to webhooks:
/// `{"id": "<uuid v7>", "event": "<name>", "timestamp": "<RFC 3339>", "data": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique per event: consumers deduplicate on it, and JetStream uses it as the message id.
    pub id: Uuid,
    /// The event's name, one of [`names`].
    pub event: String,
    /// When the state change happened.
    pub timestamp: DateTime<Utc>,
    /// The payload.
    pub data: serde_json::Value,
}

impl Event {
    /// Returns a new event named `name` carrying `data`.
    pub fn new(name: &str, data: &impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Event {
            id: Uuid::now_v7(),
            event: name.to_owned(),
            timestamp: Utc::now(),
            data: serde_json::to_value(data)?,
        })
    }

    /// Returns the user the event concerns (`data.user_id`), or `None` for a fleet-wide event
    /// (a provider's health), which concerns nobody in particular.
    pub fn user_id(&self) -> Option<&str> {
        self.data
            .get("user_id")
            .and_then(serde_json::Value::as_str)
            .filter(|id| !id.is_empty())
    }

    /// Returns the payload as a typed message.
    pub fn data_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Revoked {
        key_id: String,
    }

    #[test]
    fn the_envelope_has_the_documented_shape() {
        let event = Event::new(
            names::AUTH_APIKEY_REVOKED,
            &Revoked {
                key_id: "k1".to_owned(),
            },
        )
        .expect("json");
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["event"], "auth.apikey.revoked");
        assert_eq!(json["data"]["key_id"], "k1");
        assert_eq!(json["id"].as_str().map(str::len), Some(36));
        let timestamp = json["timestamp"].as_str().expect("a string");
        assert!(DateTime::parse_from_rfc3339(timestamp).is_ok(), "{timestamp}");
    }

    #[test]
    fn the_payload_reads_back_as_its_type() {
        let event = Event::new(
            names::AUTH_APIKEY_REVOKED,
            &Revoked {
                key_id: "k1".to_owned(),
            },
        )
        .expect("json");
        assert_eq!(
            event.data_as::<Revoked>().expect("typed"),
            Revoked {
                key_id: "k1".to_owned()
            }
        );
    }
}
