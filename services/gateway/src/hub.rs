//! The WebSocket hub: one subscription to the event bus per gateway, fanned out to every `/ws`
//! connection that subscribed to a matching channel and may see the event (its own user's events,
//! and fleet-wide ones such as a provider's health). Each connection has a bounded buffer; one that
//! falls that far behind is dropped, so a slow client never holds the others back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use gpuproxy_events::{Delivery, Event, EventBus, names};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A channel a client subscribes to, and the events it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `payment_completed`: settled payments.
    PaymentCompleted,
    /// `gpu_available`: GPUs came back to the market (a provider recovered, an instance released).
    GpuAvailable,
    /// `guardrails`: 80 % warnings and refused spending.
    Guardrails,
    /// `billing_events`: payments and low credits.
    BillingEvents,
    /// `reservation_events`: reservations and the instances they rent or release.
    ReservationEvents,
    /// `gpu_updates`: instances rented and destroyed, providers degraded and recovered.
    GpuUpdates,
    /// `agent_tasks`: agents' tasks (A2A) started, progressing and ended.
    AgentTasks,
}

impl Channel {
    /// Every channel, most specific first: an event on several of a client's channels is sent once,
    /// as the first of them.
    pub const ALL: [Channel; 7] = [
        Channel::PaymentCompleted,
        Channel::GpuAvailable,
        Channel::Guardrails,
        Channel::BillingEvents,
        Channel::ReservationEvents,
        Channel::GpuUpdates,
        Channel::AgentTasks,
    ];

    /// The wire name, also the `type` of the messages it carries.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::PaymentCompleted => "payment_completed",
            Channel::GpuAvailable => "gpu_available",
            Channel::Guardrails => "guardrails",
            Channel::BillingEvents => "billing_events",
            Channel::ReservationEvents => "reservation_events",
            Channel::GpuUpdates => "gpu_updates",
            Channel::AgentTasks => "agent_tasks",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Channel::ALL.into_iter().find(|channel| channel.as_str() == name)
    }

    /// The events the channel carries.
    pub const fn events(self) -> &'static [&'static str] {
        match self {
            Channel::PaymentCompleted => &[names::PAYMENT_COMPLETED],
            Channel::GpuAvailable => &[names::CATALOG_PROVIDER_RECOVERED, names::INSTANCE_DESTROYED],
            Channel::Guardrails => &[names::GUARDRAILS_WARNING, names::GUARDRAILS_EXCEEDED],
            Channel::BillingEvents => &[
                names::PAYMENT_COMPLETED,
                names::PAYMENT_FAILED,
                names::CREDITS_LOW,
                names::SUBSCRIPTION_RENEWED,
            ],
            Channel::ReservationEvents => &[
                names::RESERVATION_CREATED,
                names::RESERVATION_PARTIAL,
                names::INSTANCE_CREATED,
                names::INSTANCE_DESTROYED,
            ],
            Channel::GpuUpdates => &[
                names::INSTANCE_CREATED,
                names::INSTANCE_DESTROYED,
                names::CATALOG_PROVIDER_DEGRADED,
                names::CATALOG_PROVIDER_RECOVERED,
            ],
            Channel::AgentTasks => &[
                names::AGENT_TASK_WORKING,
                names::AGENT_TASK_COMPLETED,
                names::AGENT_TASK_FAILED,
                names::AGENT_TASK_CANCELED,
            ],
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of channels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Channels(u8);

impl Channels {
    /// Every channel.
    pub fn all() -> Self {
        Channels(Channel::ALL.iter().fold(0, |bits, channel| bits | channel.bit()))
    }

    /// Adds `channel`.
    pub fn insert(&mut self, channel: Channel) {
        self.0 |= channel.bit();
    }

    /// Removes `channel`.
    pub fn remove(&mut self, channel: Channel) {
        self.0 &= !channel.bit();
    }

    /// Whether `channel` is in the set.
    pub fn contains(self, channel: Channel) -> bool {
        self.0 & channel.bit() != 0
    }

    /// The channels, most specific first.
    pub fn names(self) -> Vec<&'static str> {
        Channel::ALL
            .into_iter()
            .filter(|channel| self.contains(*channel))
            .map(Channel::as_str)
            .collect()
    }
}

/// Who a connection is and what it listens to; shared between the hub and the connection.
#[derive(Debug)]
pub struct Listener {
    /// The authenticated user, once known; `None` sees fleet-wide events only.
    user: RwLock<Option<Viewer>>,
    channels: Mutex<Channels>,
    sender: mpsc::Sender<Arc<str>>,
    /// Cancelled when the connection fell too far behind.
    pub dropped: CancellationToken,
}

#[derive(Debug, Clone)]
struct Viewer {
    user_id: String,
    all_users: bool,
}

impl Listener {
    /// Sets who is listening; `all_users` (admins only) sees every user's events.
    pub fn authenticate(&self, user_id: String, all_users: bool) {
        *self.user.write().unwrap_or_else(PoisonError::into_inner) = Some(Viewer { user_id, all_users });
    }

    /// Changes the channels and returns them after the change.
    pub fn update(&self, change: impl FnOnce(&mut Channels)) -> Channels {
        let mut channels = self.channels.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut channels);
        *channels
    }

    fn sees(&self, event: &Event) -> bool {
        match event.user_id() {
            None => true,
            Some(owner) => self
                .user
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
                .is_some_and(|viewer| viewer.all_users || viewer.user_id == owner),
        }
    }
}

/// The connections of this gateway. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    listeners: RwLock<HashMap<u64, Arc<Listener>>>,
    next_id: AtomicU64,
    buffer: usize,
    max_connections: usize,
}

/// A registered connection; unregisters when dropped.
#[derive(Debug)]
pub struct Registration {
    hub: Hub,
    id: u64,
    /// The connection's end of the hub.
    pub listener: Arc<Listener>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub
            .inner
            .listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.id);
    }
}

impl Hub {
    /// A hub whose connections buffer at most `buffer` messages, with at most `max_connections`.
    pub fn new(buffer: usize, max_connections: usize) -> Self {
        Hub {
            inner: Arc::new(Inner {
                listeners: RwLock::default(),
                next_id: AtomicU64::new(0),
                buffer: buffer.max(1),
                max_connections,
            }),
        }
    }

    /// Registers a connection with no channels yet; `None` when the hub is full.
    pub fn register(&self) -> Option<(Registration, mpsc::Receiver<Arc<str>>)> {
        let mut listeners = self
            .inner
            .listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if listeners.len() >= self.inner.max_connections {
            return None;
        }
        let (sender, receiver) = mpsc::channel(self.inner.buffer);
        let listener = Arc::new(Listener {
            user: RwLock::new(None),
            channels: Mutex::new(Channels::default()),
            sender,
            dropped: CancellationToken::new(),
        });
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        listeners.insert(id, Arc::clone(&listener));
        Some((
            Registration {
                hub: self.clone(),
                id,
                listener,
            },
            receiver,
        ))
    }

    /// How many connections are open.
    pub fn connections(&self) -> usize {
        self.inner
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Sends `event` to every connection that listens for it and may see it; a connection whose
    /// buffer is full is dropped. Returns how many connections it was queued for.
    pub fn broadcast(&self, event: &Event) -> usize {
        let carried: Vec<Channel> = Channel::ALL
            .into_iter()
            .filter(|channel| channel.events().contains(&event.event.as_str()))
            .collect();
        if carried.is_empty() {
            return 0;
        }
        // One encoding per channel, shared by every connection that gets it.
        let mut encoded: HashMap<Channel, Arc<str>> = HashMap::new();
        let listeners = self
            .inner
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut queued = 0;
        for listener in listeners.values() {
            let channels = *listener.channels.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(channel) = carried
                .iter()
                .copied()
                .find(|channel| channels.contains(*channel))
            else {
                continue;
            };
            if !listener.sees(event) || listener.dropped.is_cancelled() {
                continue;
            }
            let message = encoded
                .entry(channel)
                .or_insert_with(|| {
                    serde_json::json!({"type": channel.as_str(), "payload": event})
                        .to_string()
                        .into()
                })
                .clone();
            match listener.sender.try_send(message) {
                Ok(()) => queued += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::info!(
                        buffer = self.inner.buffer,
                        "dropping a WebSocket client that fell behind"
                    );
                    listener.dropped.cancel();
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        queued
    }

    /// Relays the bus to the connections until `shutdown`.
    pub async fn follow(self, bus: EventBus, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut subscription = bus.subscribe(">").await?;
        loop {
            let delivery = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                delivery = subscription.next() => delivery,
            };
            match delivery {
                Some(Delivery::Event(event)) => {
                    self.broadcast(&event);
                }
                Some(Delivery::Missed) => {
                    tracing::warn!("the WebSocket hub may have missed events (bus reconnected)");
                }
                None => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, user_id: Option<&str>) -> Event {
        let data = match user_id {
            Some(user_id) => serde_json::json!({"user_id": user_id}),
            None => serde_json::json!({"provider": "vast.ai"}),
        };
        Event::new(name, &data).expect("json")
    }

    #[test]
    fn events_reach_the_channels_subscribed_and_the_users_they_concern() {
        let hub = Hub::new(8, 10);
        let (alice, mut alice_rx) = hub.register().expect("room");
        alice.listener.authenticate("alice".to_owned(), false);
        alice
            .listener
            .update(|channels| channels.insert(Channel::BillingEvents));
        let (anonymous, mut anonymous_rx) = hub.register().expect("room");
        anonymous.listener.update(|channels| *channels = Channels::all());

        assert_eq!(hub.broadcast(&event(names::PAYMENT_COMPLETED, Some("alice"))), 1);
        assert_eq!(hub.broadcast(&event(names::PAYMENT_COMPLETED, Some("bob"))), 0);
        assert_eq!(
            hub.broadcast(&event(names::CATALOG_PROVIDER_DEGRADED, None)),
            1,
            "anonymous sees fleet-wide events"
        );
        let message: serde_json::Value =
            serde_json::from_str(&alice_rx.try_recv().expect("one")).expect("json");
        assert_eq!(message["type"], "billing_events");
        assert_eq!(message["payload"]["event"], "payment.completed");
        assert!(alice_rx.try_recv().is_err());
        let message: serde_json::Value =
            serde_json::from_str(&anonymous_rx.try_recv().expect("one")).expect("json");
        assert_eq!(message["type"], "gpu_updates");
    }

    #[test]
    fn the_most_specific_channel_names_the_message_and_it_comes_once() {
        let hub = Hub::new(8, 10);
        let (client, mut receiver) = hub.register().expect("room");
        client.listener.authenticate("u".to_owned(), false);
        client.listener.update(|channels| *channels = Channels::all());
        hub.broadcast(&event(names::PAYMENT_COMPLETED, Some("u")));
        let message: serde_json::Value =
            serde_json::from_str(&receiver.try_recv().expect("one")).expect("json");
        assert_eq!(message["type"], "payment_completed");
        assert!(receiver.try_recv().is_err(), "sent once");
    }

    #[test]
    fn a_client_that_falls_behind_is_dropped_and_the_others_are_not() {
        let hub = Hub::new(2, 10);
        let (slow, _slow_rx) = hub.register().expect("room");
        let (fast, mut fast_rx) = hub.register().expect("room");
        for registration in [&slow, &fast] {
            registration
                .listener
                .update(|channels| channels.insert(Channel::GpuUpdates));
        }
        for _ in 0..5 {
            hub.broadcast(&event(names::CATALOG_PROVIDER_DEGRADED, None));
            while fast_rx.try_recv().is_ok() {}
        }
        assert!(slow.listener.dropped.is_cancelled());
        assert!(!fast.listener.dropped.is_cancelled());
    }

    #[test]
    fn the_hub_refuses_connections_past_its_limit_and_forgets_closed_ones() {
        let hub = Hub::new(2, 1);
        let first = hub.register().expect("room");
        assert!(hub.register().is_none());
        drop(first);
        assert_eq!(hub.connections(), 0);
        assert!(hub.register().is_some());
    }
}
