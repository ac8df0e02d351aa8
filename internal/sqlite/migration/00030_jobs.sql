-- +goose Up
-- Jobs of the jobs API; "credit_" sets them apart from the work queue's
-- jobs. No foreign key to teams: like usage records, a job is history and
-- outlives a deleted team.
CREATE TABLE IF NOT EXISTS credit_jobs (
    id             TEXT PRIMARY KEY,
    team_id        TEXT NOT NULL,
    user_id        TEXT NOT NULL DEFAULT '',
    job_type       TEXT NOT NULL,
    status         TEXT NOT NULL,
    metadata       TEXT NOT NULL DEFAULT '{}',
    error_message  TEXT NOT NULL DEFAULT '',
    credit_applied INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    started_at     INTEGER,
    completed_at   INTEGER
);
CREATE INDEX IF NOT EXISTS credit_jobs_team_time ON credit_jobs (team_id, created_at);

-- One row per LLM call of a job; a job's totals are sums over these rows.
-- cost is in nano-dollars, like the usage ledger.
CREATE TABLE IF NOT EXISTS credit_job_calls (
    id                TEXT PRIMARY KEY,
    job_id            TEXT NOT NULL REFERENCES credit_jobs (id) ON DELETE CASCADE,
    team_id           TEXT NOT NULL,
    model_group       TEXT NOT NULL,
    model             TEXT NOT NULL DEFAULT '',
    purpose           TEXT NOT NULL DEFAULT '',
    stream            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    latency_ms        INTEGER NOT NULL DEFAULT 0,
    error             TEXT NOT NULL DEFAULT '',
    created_at        INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS credit_job_calls_job ON credit_job_calls (job_id, created_at);

-- +goose Down
DROP TABLE IF EXISTS credit_job_calls;
DROP TABLE IF EXISTS credit_jobs;
