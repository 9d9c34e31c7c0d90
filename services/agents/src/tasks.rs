//! Actions run as durable tasks (A2A's): started, followed, listed and canceled by their user.
//!
//! A task is a row of `agent_tasks` (`store.rs`): `working` while its action runs in this process,
//! then `completed`, `failed` or `canceled`. Each change is committed with its event
//! (`agent.task.working|completed|failed|canceled`) and sent to this process's watchers; a watcher
//! of a task that another replica runs reads the row. A canceled task stops waiting for its
//! instances and destroys what it rented (`undo.rs`). Runners stamp their tasks while they live, so a
//! task whose process died is failed by whichever replica sweeps first.

mod redact;
mod store;
mod undo;

pub use store::{TaskFilter, TaskRow, TaskState};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::Stream;
use gpuproxy_db::Database;
use gpuproxy_domain::UserId;
use gpuproxy_errors::ErrorCode;
use gpuproxy_events::{Event, Outbox, names};
use gpuproxy_proto::gpuproxy::events::v1::AgentTaskUpdated;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::catalog::ActionSpec;
use crate::error::Error;
use crate::{ActionError, Actions, Caller, Progress};

/// How often runners stamp their tasks.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// How long a working task may go unstamped before it counts as orphaned.
const STALE_AFTER: Duration = Duration::from_secs(60);
/// How often a watcher of a task run elsewhere reads its row.
const WATCH_POLL: Duration = Duration::from_millis(500);
/// Progress reports that may wait before the action waits for the runner.
const PROGRESS_BUFFER: usize = 16;
/// Most tasks on one page.
const MAX_PAGE: i64 = 100;
/// Tasks on a page when the caller does not say.
const DEFAULT_PAGE: i64 = 50;

/// A task to start.
#[derive(Debug)]
pub struct StartTask {
    /// Who runs it.
    pub caller: Caller,
    /// What it runs.
    pub action: &'static ActionSpec,
    /// Its arguments (an object, or null).
    pub arguments: Value,
    /// A retried start with this key answers the task the first one started (empty: none).
    pub idempotency_key: String,
    /// Its conversation (empty: a new one).
    pub context_id: String,
    /// The message that asked for it (JSON).
    pub request: String,
}

/// The durable tasks. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AgentTasks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    database: Database,
    outbox: Outbox,
    actions: Actions,
    running: TaskTracker,
    live: Mutex<HashMap<String, Live>>,
}

/// A task this process runs: where its changes go and how it is told to stop.
#[derive(Debug)]
struct Live {
    changes: watch::Sender<TaskRow>,
    cancel: CancellationToken,
}

impl AgentTasks {
    /// Returns the tasks kept in `database`, their events written to `outbox`, their actions run by
    /// `actions` under `running` (which shutdown waits for).
    pub fn new(database: Database, outbox: Outbox, actions: Actions, running: TaskTracker) -> Self {
        AgentTasks {
            inner: Arc::new(Inner {
                database,
                outbox,
                actions,
                running,
                live: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Returns the outbox, whose relay the app runs.
    pub fn outbox(&self) -> &Outbox {
        &self.inner.outbox
    }

    /// Starts `start`'s action in the background and answers its task, `working`. An unknown action
    /// or arguments its input refuses are the call's error: nothing is stored or run.
    pub async fn start(&self, start: StartTask) -> Result<TaskRow, Error> {
        if !start.idempotency_key.is_empty() {
            let user = start.caller.user_id.to_string();
            let pool = self.inner.database.pool();
            if let Some(row) = store::find_by_key(pool, &user, &start.idempotency_key).await? {
                return Ok(row);
            }
        }
        let (answer, answered) = oneshot::channel();
        let tasks = self.clone();
        self.inner.running.spawn(tasks.run(start, answer));
        answered.await.unwrap_or(Err(Error::Stopping))
    }

    /// One of `user_id`'s tasks.
    pub async fn get(&self, user_id: UserId, id: &str) -> Result<TaskRow, Error> {
        store::find(self.inner.database.pool(), &user_id.to_string(), id)
            .await?
            .ok_or_else(|| Error::TaskNotFound(id.to_owned()))
    }

    /// One page of `user_id`'s tasks matching `filter`, newest first, the next page's token (empty
    /// on the last page) and how many match in all. `page_token` is the previous answer's.
    pub async fn list(
        &self,
        user_id: UserId,
        filter: &TaskFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<TaskRow>, String, i64), Error> {
        let limit = match i64::from(page_size) {
            0 => DEFAULT_PAGE,
            size if (1..=MAX_PAGE).contains(&size) => size,
            _ => {
                return Err(Error::InvalidField {
                    field: "page_size",
                    reason: format!("must be 1 to {MAX_PAGE}"),
                });
            }
        };
        let cursor = if page_token.is_empty() {
            None
        } else {
            let cursor = page_token
                .split_once('.')
                .and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.to_owned())))
                .filter(|(ms, id)| *ms > 0 && !id.is_empty());
            Some(cursor.ok_or_else(|| Error::InvalidField {
                field: "page_token",
                reason: "must be a next_page_token this service answered".to_owned(),
            })?)
        };
        // One more than the page tells whether another page follows.
        let (mut rows, total) = store::list(
            self.inner.database.pool(),
            &user_id.to_string(),
            filter,
            limit + 1,
            cursor.as_ref(),
        )
        .await?;
        let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next_token = match rows.last() {
            Some(last) if more => format!("{}.{}", last.created_at, last.id),
            _ => String::new(),
        };
        Ok((rows, next_token, total))
    }

    /// Cancels one of `user_id`'s working tasks: it stops at once for its user, and what its action
    /// rented is destroyed when the action answers.
    pub async fn cancel(&self, user_id: UserId, id: &str) -> Result<TaskRow, Error> {
        let row = self.get(user_id, id).await?;
        let mut canceled = row.clone();
        canceled.state = TaskState::Canceled.as_str().to_owned();
        canceled.error_code = Some("CANCELED".to_owned());
        canceled.error_message = Some("canceled by its user".to_owned());
        canceled.updated_at = now_ms();
        if row.task_state() != TaskState::Working || !self.end(&canceled).await? {
            let now = self.get(user_id, id).await?;
            return Err(Error::TaskEnded {
                id: id.to_owned(),
                state: now.task_state().as_str(),
            });
        }
        if let Some(live) = self.lock_live().get(id) {
            live.cancel.cancel();
            publish(&live.changes, canceled.clone());
        }
        Ok(canceled)
    }

    /// The task now, then each change, ending with the change that ends it.
    pub async fn watch(
        &self,
        user_id: UserId,
        id: &str,
    ) -> Result<impl Stream<Item = TaskRow> + Send + 'static, Error> {
        let row = self.get(user_id, id).await?;
        let changes = self.lock_live().get(id).map(|live| live.changes.subscribe());
        let watcher = Watcher {
            tasks: self.clone(),
            user_id,
            changes,
            last: None,
            first: Some(row),
        };
        Ok(futures::stream::unfold(watcher, |mut watcher| async move {
            let row = watcher.next().await?;
            Some((row, watcher))
        }))
    }

    /// Stamps the tasks this process runs, then fails working tasks whose runner stopped stamping
    /// (its process died): their users learn it rather than wait forever.
    pub async fn keep_alive(&self) {
        let now = now_ms();
        let ids: Vec<String> = self.lock_live().keys().cloned().collect();
        match store::heartbeat(self.inner.database.pool(), &ids, now).await {
            // Ended by another replica (a cancel): its runner stops as if canceled here.
            Ok(ended) => {
                for id in ended {
                    if let Some(live) = self.lock_live().get(&id) {
                        live.cancel.cancel();
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "stamping the running agent tasks failed"),
        }
        let before = now - i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX);
        let stale = match store::stale(self.inner.database.pool(), before, 100).await {
            Ok(stale) => stale,
            Err(error) => {
                tracing::warn!(%error, "looking for orphaned agent tasks failed");
                return;
            }
        };
        for mut row in stale {
            row.state = TaskState::Failed.as_str().to_owned();
            row.error_code = Some(ErrorCode::Unavailable.as_str().to_owned());
            row.error_message = Some(
                "the agents service stopped while the task ran; list your instances to see what it rented"
                    .to_owned(),
            );
            row.updated_at = now;
            match self.end(&row).await {
                Ok(true) => tracing::warn!(task = %row.id, "failed an orphaned agent task"),
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, task = %row.id, "failing an orphaned agent task failed"),
            }
        }
    }

    /// Runs `start`: answers its task (or why it cannot run) on `answer`, then follows the action to
    /// its end.
    async fn run(self, start: StartTask, answer: oneshot::Sender<Result<TaskRow, Error>>) {
        let StartTask {
            caller,
            action,
            arguments,
            idempotency_key,
            context_id,
            request,
        } = start;
        // The row is claimed before the action starts: a concurrent start with the same key finds
        // it and answers its task, and never runs the action a second time.
        let now = now_ms();
        let row = TaskRow {
            id: Uuid::now_v7().to_string(),
            user_id: caller.user_id.to_string(),
            context_id: if context_id.is_empty() {
                Uuid::now_v7().to_string()
            } else {
                context_id
            },
            action: action.name.to_owned(),
            arguments: match &arguments {
                Value::Null => "{}".to_owned(),
                arguments => {
                    let mut kept = arguments.clone();
                    redact::redact(&mut kept);
                    kept.to_string()
                }
            },
            state: TaskState::Working.as_str().to_owned(),
            progress_milli: 0,
            total_milli: 0,
            progress_message: String::new(),
            result: None,
            error_code: None,
            error_message: None,
            request: redact::redact_text(&request),
            idempotency_key: Some(idempotency_key.clone()).filter(|key| !key.is_empty()),
            created_at: now,
            updated_at: now,
            heartbeat_at: now,
        };
        let pool = self.inner.database.pool();
        if let Err(error) = store::insert(pool, &row).await {
            let raced = match &row.idempotency_key {
                Some(key) if gpuproxy_db::is_unique_violation(&error) => {
                    store::find_by_key(pool, &row.user_id, key).await.ok().flatten()
                }
                _ => None,
            };
            let _ = answer.send(raced.ok_or_else(|| Error::from(error)));
            return;
        }
        let (progress, mut reports) = mpsc::channel::<Progress>(PROGRESS_BUFFER);
        let running = self.inner.actions.call(
            caller,
            action.name,
            arguments.clone(),
            &idempotency_key,
            &progress,
        );
        tokio::pin!(running);
        // `Actions::call` refuses a call before its first await, so one poll tells a refused call
        // (whose claim is taken back: nothing ran) from one that runs.
        let first = futures::poll!(&mut running);
        if let Poll::Ready(Err(refused)) = first {
            if let Err(error) = store::delete(pool, &row.id).await {
                tracing::warn!(%error, task = %row.id, "taking back a refused task's row failed");
            }
            let _ = answer.send(Err(refused.into()));
            return;
        }
        if let Err(error) = self.publish_start(&row).await {
            // The action runs and its end is recorded; only the start's event is missing.
            tracing::warn!(%error, task = %row.id, "publishing an agent task's start failed");
        }
        let cancel = CancellationToken::new();
        self.lock_live().insert(
            row.id.clone(),
            Live {
                changes: watch::Sender::new(row.clone()),
                cancel: cancel.clone(),
            },
        );
        let _ = answer.send(Ok(row.clone()));
        let mut current = row;
        let mut canceled = false;
        let outcome = match first {
            Poll::Ready(Ok(outcome)) => outcome,
            _ => loop {
                tokio::select! {
                    outcome = &mut running => break outcome.unwrap_or_else(|refused| {
                        Err(ActionError::new(ErrorCode::Internal, refused.to_string()))
                    }),
                    Some(report) = reports.recv(), if !canceled => {
                        if !self.record_progress(&mut current, report).await {
                            canceled = true;
                            reports.close();
                        }
                    }
                    () = cancel.cancelled(), if !canceled => {
                        canceled = true;
                        // A reservation stops waiting for its instances once nobody listens.
                        reports.close();
                    }
                }
            },
        };
        if !canceled {
            canceled = !self.finish(&mut current, &outcome).await;
        }
        if canceled {
            // Ended by someone else: canceled by its user (what it rented goes back), or failed by
            // another replica's sweep (what it rented stays, as the failure says).
            match self.get(caller.user_id, &current.id).await {
                Ok(row) => current = row,
                Err(error) => {
                    tracing::warn!(%error, task = %current.id, "reading an ended agent task failed");
                    current.state = TaskState::Canceled.as_str().to_owned();
                }
            }
            if current.task_state() == TaskState::Canceled
                && let Ok(output) = &outcome
            {
                undo::destroy_rented(&self.inner.actions, caller, action.name, output).await;
            }
        }
        if let Some(live) = self.lock_live().remove(&current.id) {
            publish(&live.changes, current);
        }
    }

    /// Publishes the `agent.task.working` event of a task that started.
    async fn publish_start(&self, row: &TaskRow) -> Result<(), Error> {
        let transaction = self.inner.database.pool().begin().await?;
        self.inner.outbox.commit(transaction, &[task_event(row)?]).await?;
        Ok(())
    }

    /// Records `report` on `row`; `false` when the task is no longer working (canceled elsewhere).
    async fn record_progress(&self, row: &mut TaskRow, report: Progress) -> bool {
        row.progress_milli = milli(report.progress);
        row.total_milli = milli(report.total);
        row.progress_message = report.message;
        row.updated_at = now_ms();
        let recorded = async {
            let mut transaction = self.inner.database.pool().begin().await?;
            if !store::record_progress(&mut *transaction, row).await? {
                return Ok::<_, Error>(false);
            }
            self.inner.outbox.commit(transaction, &[task_event(row)?]).await?;
            Ok(true)
        };
        match recorded.await {
            Ok(true) => {
                if let Some(live) = self.lock_live().get(&row.id) {
                    publish(&live.changes, row.clone());
                }
                true
            }
            Ok(false) => false,
            Err(error) => {
                // A report lost is a later report's to carry; the task goes on.
                tracing::warn!(%error, task = %row.id, "recording an agent task's progress failed");
                true
            }
        }
    }

    /// Ends `row` with `outcome`; `false` when it had already ended (canceled meanwhile).
    async fn finish(&self, row: &mut TaskRow, outcome: &Result<Value, ActionError>) -> bool {
        match outcome {
            Ok(result) => {
                row.state = TaskState::Completed.as_str().to_owned();
                row.result = Some(result.to_string());
            }
            Err(error) => {
                row.state = TaskState::Failed.as_str().to_owned();
                row.error_code = Some(error.code.as_str().to_owned());
                row.error_message = Some(error.message.clone());
            }
        }
        row.updated_at = now_ms();
        // The answer is kept however long the store takes to come back: what was rented is paid for.
        let mut wait = Duration::from_millis(200);
        loop {
            match self.end(row).await {
                Ok(ended) => return ended,
                Err(error) => {
                    tracing::warn!(%error, task = %row.id, "recording an agent task's end failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
    }

    /// Ends `row` as it says with its event; `false` when it had already ended.
    async fn end(&self, row: &TaskRow) -> Result<bool, Error> {
        let mut transaction = self.inner.database.pool().begin().await?;
        if !store::end(&mut *transaction, row).await? {
            return Ok(false);
        }
        self.inner.outbox.commit(transaction, &[task_event(row)?]).await?;
        Ok(true)
    }

    fn lock_live(&self) -> std::sync::MutexGuard<'_, HashMap<String, Live>> {
        self.inner.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Follows one task for [`AgentTasks::watch`].
struct Watcher {
    tasks: AgentTasks,
    user_id: UserId,
    changes: Option<watch::Receiver<TaskRow>>,
    last: Option<TaskRow>,
    first: Option<TaskRow>,
}

impl Watcher {
    /// The next version of the task; `None` once it has ended.
    async fn next(&mut self) -> Option<TaskRow> {
        if let Some(first) = self.first.take() {
            self.last = Some(first.clone());
            return Some(first);
        }
        let last = self.last.as_ref()?;
        if last.task_state() != TaskState::Working {
            return None;
        }
        let id = last.id.clone();
        loop {
            let next = match &mut self.changes {
                Some(changes) => match changes.changed().await {
                    Ok(()) => Some(changes.borrow_and_update().clone()),
                    // The runner is done: the row holds how it ended.
                    Err(_) => {
                        self.changes = None;
                        self.tasks.get(self.user_id, &id).await.ok()
                    }
                },
                None => {
                    tokio::time::sleep(WATCH_POLL).await;
                    self.tasks.get(self.user_id, &id).await.ok()
                }
            };
            let Some(next) = next else { continue };
            // A heartbeat changes the row but not the task.
            let changed = self
                .last
                .as_ref()
                .is_none_or(|last| (last.updated_at, &last.state) != (next.updated_at, &next.state));
            if changed {
                self.last = Some(next.clone());
                return Some(next);
            }
        }
    }
}

/// Sends `row` to the task's watchers, unless they already hold its end: a late progress report
/// never turns a canceled task back into a working one.
fn publish(changes: &watch::Sender<TaskRow>, row: TaskRow) {
    changes.send_if_modified(|held| {
        if held.task_state() != TaskState::Working {
            return false;
        }
        *held = row;
        true
    });
}

/// The event a task's change publishes.
fn task_event(row: &TaskRow) -> Result<Event, Error> {
    let name = match row.task_state() {
        TaskState::Working => names::AGENT_TASK_WORKING,
        TaskState::Completed => names::AGENT_TASK_COMPLETED,
        TaskState::Failed => names::AGENT_TASK_FAILED,
        TaskState::Canceled => names::AGENT_TASK_CANCELED,
    };
    let data = AgentTaskUpdated {
        user_id: row.user_id.clone(),
        task_id: row.id.clone(),
        context_id: row.context_id.clone(),
        action: row.action.clone(),
        state: row.state.clone(),
        progress: unmilli(row.progress_milli),
        total: unmilli(row.total_milli),
        message: row.progress_message.clone(),
        error_code: row.error_code.clone().unwrap_or_default(),
    };
    Event::new(name, &data).map_err(|error| Error::Outbox(error.into()))
}

/// Thousandths of `value`, as the store keeps progress.
#[expect(
    clippy::cast_possible_truncation,
    reason = "progress counts GPUs; clamped far inside i64"
)]
fn milli(value: f64) -> i64 {
    if value.is_finite() {
        (value.clamp(0.0, 1e12) * 1000.0).round() as i64
    } else {
        0
    }
}

/// The value of `milli` thousandths.
#[expect(clippy::cast_precision_loss, reason = "progress counts GPUs")]
pub fn unmilli(milli: i64) -> f64 {
    milli as f64 / 1000.0
}

/// Now, Unix ms.
fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
    })
}
