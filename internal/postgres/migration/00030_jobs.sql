-- +goose Up
-- Jobs of the jobs API; "credit_" sets them apart from the work queue's
-- jobs. No foreign key to teams: like usage records, a job is history and
-- outlives a deleted team.
CREATE TABLE credit_jobs (
    id             text PRIMARY KEY,
    team_id        text NOT NULL,
    user_id        text NOT NULL DEFAULT '',
    job_type       text NOT NULL,
    status         text NOT NULL,
    metadata       text NOT NULL DEFAULT '{}',
    error_message  text NOT NULL DEFAULT '',
    credit_applied boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    started_at     timestamptz,
    completed_at   timestamptz
);
CREATE INDEX credit_jobs_team_time ON credit_jobs (team_id, created_at);

-- One row per LLM call of a job; a job's totals are sums over these rows.
-- cost is in nano-dollars, like the usage ledger. seq keeps the order the
-- calls were recorded in, which created_at (a caller's clock) does not.
CREATE TABLE credit_job_calls (
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    id                text PRIMARY KEY,
    job_id            text NOT NULL REFERENCES credit_jobs (id) ON DELETE CASCADE,
    team_id           text NOT NULL,
    model_group       text NOT NULL,
    model             text NOT NULL DEFAULT '',
    purpose           text NOT NULL DEFAULT '',
    stream            boolean NOT NULL DEFAULT false,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost              bigint NOT NULL DEFAULT 0,
    latency_ms        bigint NOT NULL DEFAULT 0,
    error             text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL
);
CREATE INDEX credit_job_calls_job ON credit_job_calls (job_id, seq);

-- +goose Down
DROP TABLE credit_job_calls;
DROP TABLE credit_jobs;
