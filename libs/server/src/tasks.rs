//! Named background tasks that stop together.

use std::borrow::Cow;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The first task that ended with an error, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    /// The name the task was spawned with.
    pub task: Cow<'static, str>,
    /// The error and its causes.
    pub error: String,
}

/// Spawns and tracks the background tasks of a process.
///
/// Every task gets the same cancellation token; a task that fails cancels it, so one broken
/// listener or consumer brings the process down cleanly instead of leaving it half alive.
/// [`Tasks::wait`] waits for all of them, up to a drain timeout.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    token: CancellationToken,
    first_failure: Arc<Mutex<Option<TaskFailure>>>,
}

impl Tasks {
    /// Returns an empty set of tasks with a fresh cancellation token.
    pub fn new() -> Self {
        Tasks::default()
    }

    /// Returns the token every task stops on.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Spawns `future` under `name`. An `Err` is logged with its cause chain, remembered as the
    /// failure if it is the first, and cancels every other task.
    pub fn spawn<F>(&self, name: impl Into<Cow<'static, str>>, future: F)
    where
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let name = name.into();
        let token = self.token.clone();
        let first_failure = Arc::clone(&self.first_failure);
        self.tracker.spawn(async move {
            match future.await {
                Ok(()) => tracing::debug!(task = %name, "task finished"),
                Err(error) => {
                    tracing::error!(task = %name, error = format!("{error:#}"), "task failed");
                    if let Ok(mut slot) = first_failure.lock() {
                        slot.get_or_insert(TaskFailure {
                            task: name,
                            error: format!("{error:#}"),
                        });
                    }
                    token.cancel();
                }
            }
        });
    }

    /// Makes shutdown wait for the work `running` tracks (calls a service let run to their end,
    /// such as a rent under way): at shutdown it takes no more, and the drain waits for what it has.
    pub fn drain_at_shutdown(&self, name: impl Into<Cow<'static, str>>, running: TaskTracker) {
        let token = self.token.clone();
        self.spawn(name, async move {
            token.cancelled().await;
            running.close();
            running.wait().await;
            Ok(())
        });
    }

    /// Asks every task to stop.
    pub fn shutdown(&self) {
        self.token.cancel();
    }

    /// Returns the first failure, if any task failed.
    pub fn failure(&self) -> Option<TaskFailure> {
        self.first_failure.lock().ok().and_then(|slot| slot.clone())
    }

    /// Cancels every task and waits up to `drain` for them to finish; returns false when some did not.
    pub async fn shutdown_and_wait(&self, drain: Duration) -> bool {
        self.token.cancel();
        self.tracker.close();
        tokio::time::timeout(drain, self.tracker.wait()).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_task_cancels_the_others_and_is_reported() {
        let tasks = Tasks::new();
        let token = tasks.token();
        tasks.spawn("waiter", async move {
            token.cancelled().await;
            Ok(())
        });
        tasks.spawn("breaker", async { Err(anyhow::anyhow!("listener closed")) });
        assert!(
            tasks.shutdown_and_wait(Duration::from_secs(5)).await,
            "both tasks end"
        );
        assert_eq!(
            tasks.failure(),
            Some(TaskFailure {
                task: "breaker".into(),
                error: "listener closed".to_owned()
            })
        );
    }

    #[tokio::test]
    async fn tasks_that_ignore_cancellation_are_reported_as_not_drained() {
        tokio::time::pause();
        let tasks = Tasks::new();
        tasks.spawn("stubborn", async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        });
        assert!(!tasks.shutdown_and_wait(Duration::from_secs(1)).await);
        assert_eq!(tasks.failure(), None);
    }
}
