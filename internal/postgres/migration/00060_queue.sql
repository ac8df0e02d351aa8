-- +goose Up
-- The durable job queue (internal/queue), shared by every replica. A job is
-- claimed by turning it to 'running' with a lease: run_after then holds the
-- lease's end, so one index over open jobs by run_after finds both due
-- queued jobs and running jobs whose worker died. Claims lock the row they
-- take with FOR UPDATE SKIP LOCKED, so replicas never take the same job and
-- never wait for each other. Results live in the row that finishes, written
-- by the same UPDATE, so a finished job can never run again or lose its
-- result.
CREATE TABLE jobs_queue (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    team_id      TEXT NOT NULL,
    key_id       TEXT NOT NULL DEFAULT '',
    grp          TEXT NOT NULL DEFAULT '',
    item_key     TEXT NOT NULL DEFAULT '',
    seq          INTEGER NOT NULL DEFAULT 0,
    payload      BYTEA,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 1,
    run_after    TIMESTAMPTZ NOT NULL,
    lease        TEXT NOT NULL DEFAULT '',
    -- cancel holds the reason a running job's group was cancelled: the job
    -- finishes its current call but is never queued again.
    cancel       TEXT NOT NULL DEFAULT '',
    result       BYTEA,
    error        TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);

-- Finished jobs leave this index, so claiming stays cheap however many
-- results the table keeps. The claim's WHERE repeats this predicate
-- verbatim so that the planner uses it.
CREATE INDEX jobs_queue_due ON jobs_queue (run_after) WHERE state = 'queued' OR state = 'running';
-- Enqueuing an item twice (a retried submission) is a no-op: the INSERT's
-- ON CONFLICT (grp, item_key) WHERE grp <> '' names this index.
CREATE UNIQUE INDEX jobs_queue_item ON jobs_queue (grp, item_key) WHERE grp <> '';
-- A group's results in order, and its counts by state.
CREATE INDEX jobs_queue_group_seq ON jobs_queue (grp, seq);
CREATE INDEX jobs_queue_group_state ON jobs_queue (grp, state);

-- A task may run twice when its lease expired mid-call (a crash, a stall).
-- Queue workers set the usage record's purpose to the task ID on these
-- endpoints, which only they use, so the ledger itself refuses a second
-- successful record of one task: the meter's ON CONFLICT DO NOTHING drops
-- it, and an item is billed once however often it ran. Failed calls
-- (status >= 400) stay out of the index: a rate-limited attempt must not
-- block the record of the retry that succeeds. The usage table comes from
-- 00005_usage.sql; the predicate is SQLite's, chained equalities included.
CREATE UNIQUE INDEX usage_job_once ON usage (purpose)
    WHERE (endpoint = 'batch.chat' OR endpoint = 'batch.completions' OR endpoint = 'batch.embeddings' OR endpoint = 'qcompletions')
        AND status < 400;

-- +goose Down
DROP INDEX IF EXISTS usage_job_once;
DROP TABLE IF EXISTS jobs_queue;
