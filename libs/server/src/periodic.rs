//! Background work that runs again and again: sweeps, probes, reconciliations.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::Tasks;

/// When a periodic task runs.
#[derive(Debug, Clone)]
pub struct Every {
    period: Duration,
    at_once: bool,
    wake: Option<Arc<Notify>>,
}

impl Every {
    /// Runs every `period`, the first time one period after the start.
    pub fn period(period: Duration) -> Self {
        Every {
            period,
            at_once: false,
            wake: None,
        }
    }

    /// Also runs once at the start.
    pub fn at_once(mut self) -> Self {
        self.at_once = true;
        self
    }

    /// Also runs as soon as `wake` is notified, without waiting for the period to end.
    pub fn or_when(mut self, wake: Arc<Notify>) -> Self {
        self.wake = Some(wake);
        self
    }
}

impl Tasks {
    /// Spawns `work` under `name`, run on `schedule` until shutdown. A run in progress finishes
    /// (it may be moving money); no run starts after the shutdown began. Failures are the work's to
    /// log: a sweep that fails this time is tried again next time, so it never stops the process.
    pub fn every<W, F>(&self, name: impl Into<Cow<'static, str>>, schedule: Every, mut work: W)
    where
        W: FnMut() -> F + Send + 'static,
        F: Future<Output = ()> + Send,
    {
        let token = self.token();
        self.spawn(name, async move {
            let Every {
                period,
                at_once,
                wake,
            } = schedule;
            if at_once && !token.is_cancelled() {
                work().await;
            }
            loop {
                let woken = async {
                    match &wake {
                        Some(wake) => wake.notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    () = token.cancelled() => return Ok(()),
                    () = woken => {}
                    () = tokio::time::sleep(period) => {}
                }
                work().await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(tasks: &Tasks, schedule: Every) -> Arc<AtomicUsize> {
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&runs);
        tasks.every("counter", schedule, move || {
            let counter = Arc::clone(&counter);
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        runs
    }

    #[tokio::test(start_paused = true)]
    async fn work_runs_once_per_period_and_stops_at_shutdown() {
        let tasks = Tasks::new();
        let runs = counting(&tasks, Every::period(Duration::from_secs(10)));
        tokio::time::sleep(Duration::from_secs(35)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert!(tasks.shutdown_and_wait(Duration::from_secs(1)).await);
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "nothing runs after the shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn at_once_runs_at_the_start_too() {
        let tasks = Tasks::new();
        let runs = counting(&tasks, Every::period(Duration::from_secs(10)).at_once());
        tokio::time::sleep(Duration::from_secs(15)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        tasks.shutdown();
    }

    #[tokio::test(start_paused = true)]
    async fn a_wake_runs_the_work_before_the_period_ends() {
        let tasks = Tasks::new();
        let wake = Arc::new(Notify::new());
        let runs = counting(
            &tasks,
            Every::period(Duration::from_secs(3600)).or_when(Arc::clone(&wake)),
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        wake.notify_one();
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        tasks.shutdown();
    }
}
