//! The durable tasks over a real database (SQLite and PostgreSQL), with actions whose owning
//! services are unreachable: a task that fails, one refused before it runs, a retried start, the
//! owner's fence, paging, and a task orphaned by a dead process failed by the sweep.
#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::unwrap_used,
    reason = "a test fails loudly at the step that broke"
)]

use std::time::Duration;

use futures::StreamExt;
use gpuproxy_agents::tasks::{AgentTasks, StartTask, TaskFilter, TaskState};
use gpuproxy_agents::{Actions, Caller, Timeouts, catalog};
use gpuproxy_db::Database;
use gpuproxy_domain::UserId;
use gpuproxy_errors::{ErrorCode, ServiceError};
use gpuproxy_events::Outbox;
use gpuproxy_server::{HostedService, connect_lazy};
use gpuproxy_testkit::TestDatabase;
use serde_json::{Value, json};
use tokio_util::task::TaskTracker;

struct Harness {
    tasks: AgentTasks,
    database: Database,
    _test_database: TestDatabase,
}

async fn harness(test_database: TestDatabase) -> Harness {
    gpuproxy_testkit::init_logging();
    let database = Database::connect(test_database.config())
        .await
        .expect("connected");
    database
        .migrate(<gpuproxy_agents::App as HostedService>::migrations())
        .await
        .expect("migrated");
    // Nothing listens on port 1: every owning service is down.
    let nowhere = || connect_lazy("http://127.0.0.1:1", Duration::from_millis(200), None).expect("a channel");
    let actions = Actions::new(
        nowhere(),
        nowhere(),
        nowhere(),
        nowhere(),
        Timeouts {
            call: Duration::from_secs(2),
            renting: Duration::from_secs(2),
            progress_interval: Duration::from_millis(50),
        },
    );
    let tasks = AgentTasks::new(
        database.clone(),
        Outbox::new(database.clone(), "agents"),
        actions,
        TaskTracker::new(),
    );
    Harness {
        tasks,
        database,
        _test_database: test_database,
    }
}

fn start(user_id: UserId, action: &str, arguments: Value, key: &str) -> StartTask {
    StartTask {
        caller: Caller {
            user_id,
            admin: false,
        },
        action: catalog::action_named(action).expect("an action"),
        arguments,
        idempotency_key: key.to_owned(),
        context_id: String::new(),
        request: json!({"messageId": "m"}).to_string(),
    }
}

async fn events(database: &Database) -> Vec<String> {
    sqlx::query_as::<_, (String,)>(
        "SELECT event FROM event_outbox WHERE source = 'agents' ORDER BY created_at, id",
    )
    .fetch_all(database.pool())
    .await
    .expect("read")
    .into_iter()
    .map(|(event,)| event)
    .collect()
}

async fn a_task_runs_fails_and_is_its_owners_only(test_database: TestDatabase) {
    let Harness {
        tasks,
        database,
        _test_database: _kept,
    } = harness(test_database).await;
    let (alice, bob) = (UserId::generate(), UserId::generate());

    let refused = tasks
        .start(start(alice, "reserve_gpus", json!({"count": "many"}), ""))
        .await;
    assert!(refused.is_err(), "arguments the input refuses start nothing");
    let (listed, _, total) = tasks
        .list(alice, &TaskFilter::default(), 0, "")
        .await
        .expect("listed");
    assert_eq!((listed.len(), total), (0, 0));

    let task = tasks
        .start(start(alice, "get_credits", Value::Null, "k-1"))
        .await
        .expect("started");
    assert_eq!(task.task_state(), TaskState::Working);
    let seen: Vec<TaskState> = tasks
        .watch(alice, &task.id)
        .await
        .expect("watched")
        .map(|row| row.task_state())
        .collect()
        .await;
    // Watching starts from the task as it is now: working, or already failed.
    assert_eq!(seen.last(), Some(&TaskState::Failed), "billing is down: {seen:?}");
    assert!(
        seen[..seen.len() - 1]
            .iter()
            .all(|state| *state == TaskState::Working),
        "{seen:?}"
    );
    let ended = tasks.get(alice, &task.id).await.expect("found");
    assert_eq!(
        ended.error_code.as_deref(),
        Some(ErrorCode::Unavailable.as_str()),
        "{ended:?}"
    );

    let again = tasks
        .start(start(alice, "get_credits", Value::Null, "k-1"))
        .await
        .expect("answered");
    assert_eq!(again.id, task.id, "a retried start answers the first task");
    assert!(
        tasks.get(bob, &task.id).await.is_err(),
        "another user's task is not found"
    );
    assert!(tasks.cancel(bob, &task.id).await.is_err());
    let canceled = tasks
        .cancel(alice, &task.id)
        .await
        .expect_err("an ended task cannot be canceled");
    assert_eq!(canceled.code(), ErrorCode::TaskEnded);
    assert_eq!(
        tasks.get(bob, &task.id).await.expect_err("hidden").code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        tasks.get(alice, &task.id).await.expect("found").task_state(),
        TaskState::Failed
    );

    tasks
        .start(start(alice, "get_credits", Value::Null, "k-2"))
        .await
        .expect("started");
    let (page, next, total) = tasks
        .list(alice, &TaskFilter::default(), 1, "")
        .await
        .expect("listed");
    assert_eq!((page.len(), total), (1, 2));
    let (rest, last, _) = tasks
        .list(alice, &TaskFilter::default(), 1, &next)
        .await
        .expect("listed");
    assert_eq!((rest.len(), last.as_str()), (1, ""));
    assert_ne!(page[0].id, rest[0].id);
    assert!(
        tasks.list(alice, &TaskFilter::default(), 500, "").await.is_err(),
        "pages hold at most 100"
    );

    let published = events(&database).await;
    assert!(
        published.contains(&"agent.task.working".to_owned()),
        "{published:?}"
    );
    assert!(
        published.contains(&"agent.task.failed".to_owned()),
        "{published:?}"
    );
}

async fn a_task_whose_process_died_is_failed_by_the_sweep(test_database: TestDatabase) {
    let Harness {
        tasks,
        database,
        _test_database: _kept,
    } = harness(test_database).await;
    let user = UserId::generate();
    sqlx::query(
        "INSERT INTO agent_tasks (id, user_id, context_id, action, arguments, state, request, \
         created_at, updated_at, heartbeat_at) VALUES ('t-1', $1, 'c', 'reserve_gpus', '{}', 'working', '{}', 1, 1, 1)",
    )
    .bind(user.to_string())
    .execute(database.pool())
    .await
    .expect("inserted");
    tasks.keep_alive().await;
    let orphan = tasks.get(user, "t-1").await.expect("found");
    assert_eq!(orphan.task_state(), TaskState::Failed);
    assert_eq!(
        orphan.error_code.as_deref(),
        Some(ErrorCode::Unavailable.as_str())
    );
    assert_eq!(events(&database).await, ["agent.task.failed"]);
}

macro_rules! on_both_databases {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $test() { super::$test(gpuproxy_testkit::TestDatabase::sqlite()).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $test() { super::$test(gpuproxy_testkit::TestDatabase::postgres().await).await })*
        }
    };
}

on_both_databases!(
    a_task_runs_fails_and_is_its_owners_only,
    a_task_whose_process_died_is_failed_by_the_sweep,
);
