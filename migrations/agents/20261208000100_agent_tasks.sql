-- The agents service: actions run as durable tasks (A2A), each owned by one user. A task is
-- working until its action ends; then completed (result), failed (error) or canceled. The runner
-- stamps heartbeat_at while it works, so a task whose process died is found and failed.
-- Portable SQL: TEXT and BIGINT only.

CREATE TABLE agent_tasks (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    context_id TEXT NOT NULL,
    action TEXT NOT NULL,
    -- JSON object, as the action read it.
    arguments TEXT NOT NULL,
    -- working, completed, failed, canceled
    state TEXT NOT NULL,
    -- The latest progress report, in thousandths (the portable dialect has no floating point).
    progress_milli BIGINT NOT NULL DEFAULT 0,
    total_milli BIGINT NOT NULL DEFAULT 0,
    progress_message TEXT NOT NULL DEFAULT '',
    -- JSON, once completed.
    result TEXT,
    error_code TEXT,
    error_message TEXT,
    -- The message that asked for the task, as the front received it (JSON), kept as its history.
    request TEXT NOT NULL,
    -- A retried message starts no second task: (user_id, idempotency_key) is unique when set.
    idempotency_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

CREATE INDEX agent_tasks_by_user ON agent_tasks (user_id, created_at);
CREATE UNIQUE INDEX agent_tasks_by_key ON agent_tasks (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX agent_tasks_working ON agent_tasks (heartbeat_at) WHERE state = 'working';
