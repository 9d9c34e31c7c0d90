//! The bus inside one process.

use tokio::sync::broadcast;

use crate::{BusError, Delivery, Event, matches};

/// Events a slow subscriber may fall behind by before it misses some (and is told so in the log).
const CAPACITY: usize = 4096;

/// A broadcast to every subscriber in this process.
#[derive(Debug, Clone)]
pub struct InProcessBus {
    sender: broadcast::Sender<Event>,
}

impl Default for InProcessBus {
    fn default() -> Self {
        InProcessBus {
            sender: broadcast::channel(CAPACITY).0,
        }
    }
}

/// A subscription to the in-process bus.
#[derive(Debug)]
pub struct InProcessSubscription {
    receiver: broadcast::Receiver<Event>,
    pattern: String,
}

impl InProcessBus {
    pub(crate) fn publish(&self, event: &Event) -> Result<(), BusError> {
        // No subscriber is not an error: the event is simply not needed by anybody here.
        let _receivers = self.sender.send(event.clone()).unwrap_or(0);
        Ok(())
    }

    pub(crate) fn subscribe(&self, pattern: &str) -> InProcessSubscription {
        InProcessSubscription {
            receiver: self.sender.subscribe(),
            pattern: pattern.to_owned(),
        }
    }
}

impl InProcessSubscription {
    pub(crate) async fn next(&mut self) -> Option<Delivery> {
        loop {
            match self.receiver.recv().await {
                Ok(event) if matches(&self.pattern, &event.event) => return Some(Delivery::Event(event)),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, pattern = %self.pattern, "a slow subscriber missed events");
                    return Some(Delivery::Missed);
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
