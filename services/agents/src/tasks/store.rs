//! `agent_tasks`: the durable rows behind A2A tasks.

use gpuproxy_db::{Any, AnyPool};
use sqlx::Executor;

/// A task's state. Only `Working` changes; the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Its action runs.
    Working,
    /// Its action answered; `result` holds the answer.
    Completed,
    /// Its action failed, or its runner died; `error_*` say why.
    Failed,
    /// Its user canceled it.
    Canceled,
}

impl TaskState {
    /// The column's text, also the wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskState::Working => "working",
            TaskState::Completed => "completed",
            TaskState::Failed => "failed",
            TaskState::Canceled => "canceled",
        }
    }

    /// Parses the column's text.
    pub fn parse(text: &str) -> Option<Self> {
        [
            TaskState::Working,
            TaskState::Completed,
            TaskState::Failed,
            TaskState::Canceled,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// A row of `agent_tasks`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TaskRow {
    /// UUID v7.
    pub id: String,
    /// The owner's id.
    pub user_id: String,
    /// The conversation.
    pub context_id: String,
    /// The action's name.
    pub action: String,
    /// JSON object.
    pub arguments: String,
    /// [`TaskState`]'s text.
    pub state: String,
    /// The latest progress, thousandths.
    pub progress_milli: i64,
    /// Its total, thousandths.
    pub total_milli: i64,
    /// What the latest progress report said.
    pub progress_message: String,
    /// JSON, once completed.
    pub result: Option<String>,
    /// The error table's code, once failed or canceled.
    pub error_code: Option<String>,
    /// Why.
    pub error_message: Option<String>,
    /// The message that asked for it (JSON).
    pub request: String,
    /// The key that makes a retried start answer this task.
    pub idempotency_key: Option<String>,
    /// Unix ms.
    pub created_at: i64,
    /// Unix ms.
    pub updated_at: i64,
    /// Unix ms: the runner's latest sign of life.
    pub heartbeat_at: i64,
}

impl TaskRow {
    /// The state, parsed (an unknown text reads as failed: nothing runs it).
    pub fn task_state(&self) -> TaskState {
        TaskState::parse(&self.state).unwrap_or(TaskState::Failed)
    }
}

macro_rules! columns {
    () => {
        "id, user_id, context_id, action, arguments, state, progress_milli, total_milli, \
         progress_message, result, error_code, error_message, request, idempotency_key, created_at, \
         updated_at, heartbeat_at"
    };
}

/// Inserts a task.
pub async fn insert<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &TaskRow,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO agent_tasks (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    ))
    .bind(&row.id)
    .bind(&row.user_id)
    .bind(&row.context_id)
    .bind(&row.action)
    .bind(&row.arguments)
    .bind(&row.state)
    .bind(row.progress_milli)
    .bind(row.total_milli)
    .bind(&row.progress_message)
    .bind(&row.result)
    .bind(&row.error_code)
    .bind(&row.error_message)
    .bind(&row.request)
    .bind(&row.idempotency_key)
    .bind(row.created_at)
    .bind(row.updated_at)
    .bind(row.heartbeat_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// Deletes task `id` (a claim whose call was refused before anything ran).
pub async fn delete(pool: &AnyPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM agent_tasks WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// The task `id` of `user_id`.
pub async fn find(pool: &AnyPool, user_id: &str, id: &str) -> Result<Option<TaskRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM agent_tasks WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user_id)
    .fetch_optional(pool)
    .await
}

/// The task `user_id` started with `key`.
pub async fn find_by_key(pool: &AnyPool, user_id: &str, key: &str) -> Result<Option<TaskRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM agent_tasks WHERE user_id = $1 AND idempotency_key = $2"
    ))
    .bind(user_id)
    .bind(key)
    .fetch_optional(pool)
    .await
}

/// Which of a user's tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only this conversation's.
    pub context_id: Option<String>,
    /// Only tasks in this state.
    pub state: Option<TaskState>,
    /// Only tasks that changed after this time (Unix ms).
    pub updated_after: Option<i64>,
}

/// Where a page starts: after the task created at `.0` with id `.1` (newest first).
pub type Cursor = (i64, String);

/// Up to `limit` of `user_id`'s tasks matching `filter` after `cursor`, newest first, and how many
/// match in all. Keyset paging: tasks created meanwhile never shift a later page.
pub async fn list(
    pool: &AnyPool,
    user_id: &str,
    filter: &TaskFilter,
    limit: i64,
    cursor: Option<&Cursor>,
) -> Result<(Vec<TaskRow>, i64), sqlx::Error> {
    // Empty strings and 0 stand for "any", so one statement serves every filter.
    let context = filter.context_id.clone().unwrap_or_default();
    let state = filter.state.map(TaskState::as_str).unwrap_or_default();
    let (before_ms, before_id) = cursor.cloned().unwrap_or((0, String::new()));
    let updated_after = filter.updated_after.unwrap_or(-1);
    let rows = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM agent_tasks WHERE user_id = $1 AND ($2 = '' OR context_id = $2) AND ($3 = '' OR state = $3) \
         AND ($4 = 0 OR created_at < $4 OR (created_at = $4 AND id < $5)) AND updated_at > $6 \
         ORDER BY created_at DESC, id DESC LIMIT $7"
    ))
    .bind(user_id)
    .bind(&context)
    .bind(state)
    .bind(before_ms)
    .bind(&before_id)
    .bind(updated_after)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let (total,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM agent_tasks WHERE user_id = $1 AND ($2 = '' OR context_id = $2) \
         AND ($3 = '' OR state = $3) AND updated_at > $4",
    )
    .bind(user_id)
    .bind(&context)
    .bind(state)
    .bind(updated_after)
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// Records a working task's progress; `false` when it is no longer working (canceled meanwhile).
pub async fn record_progress<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &TaskRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE agent_tasks SET progress_milli = $1, total_milli = $2, progress_message = $3, \
         updated_at = $4, heartbeat_at = $4 WHERE id = $5 AND state = 'working'",
    )
    .bind(row.progress_milli)
    .bind(row.total_milli)
    .bind(&row.progress_message)
    .bind(row.updated_at)
    .bind(&row.id)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends a working task as `row` says (state, result or error); `false` when it had already ended.
pub async fn end<'e>(
    executor: impl Executor<'e, Database = Any>,
    row: &TaskRow,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE agent_tasks SET state = $1, result = $2, error_code = $3, error_message = $4, \
         progress_message = $5, updated_at = $6 WHERE id = $7 AND state = 'working'",
    )
    .bind(&row.state)
    .bind(&row.result)
    .bind(&row.error_code)
    .bind(&row.error_message)
    .bind(&row.progress_message)
    .bind(row.updated_at)
    .bind(&row.id)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stamps the runner's sign of life on working tasks `ids`; answers those no longer working
/// (ended elsewhere).
pub async fn heartbeat(pool: &AnyPool, ids: &[String], now: i64) -> Result<Vec<String>, sqlx::Error> {
    let mut ended = Vec::new();
    for id in ids {
        let stamped =
            sqlx::query("UPDATE agent_tasks SET heartbeat_at = $1 WHERE id = $2 AND state = 'working'")
                .bind(now)
                .bind(id)
                .execute(pool)
                .await?;
        if stamped.rows_affected() == 0 {
            ended.push(id.clone());
        }
    }
    Ok(ended)
}

/// Working tasks whose runner has not shown life since `before`.
pub async fn stale(pool: &AnyPool, before: i64, limit: i64) -> Result<Vec<TaskRow>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM agent_tasks WHERE state = 'working' AND heartbeat_at < $1 ORDER BY heartbeat_at LIMIT $2"
    ))
    .bind(before)
    .bind(limit)
    .fetch_all(pool)
    .await
}
