-- +goose Up
-- The usage ledger: one row per call through the gateway, failed ones
-- included; appended, never updated. No foreign key to teams: deleting a
-- team keeps its history, and a check would slow every batch down. The id
-- makes INSERT ... ON CONFLICT DO NOTHING idempotent when a failed flush is
-- retried. Identifiers compare bytewise (COLLATE "C"), as in SQLite: the
-- logs' keyset pagination orders by id, and C comparisons are the cheapest.
CREATE TABLE usage (
    id                text COLLATE "C" PRIMARY KEY,
    time              timestamptz NOT NULL,
    team_id           text COLLATE "C" NOT NULL,
    key_id            text COLLATE "C" NOT NULL DEFAULT '',
    project           text COLLATE "C" NOT NULL DEFAULT '',
    endpoint          text NOT NULL DEFAULT '',
    requested_model   text COLLATE "C" NOT NULL DEFAULT '',
    provider          text NOT NULL DEFAULT '',
    upstream_model    text NOT NULL DEFAULT '',
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    tokens_estimated  boolean NOT NULL DEFAULT false,
    cost              bigint NOT NULL DEFAULT 0,
    latency_ms        bigint NOT NULL DEFAULT 0,
    ttft_ms           bigint NOT NULL DEFAULT 0,
    stream            boolean NOT NULL DEFAULT false,
    status            integer NOT NULL DEFAULT 0,
    error_type        text NOT NULL DEFAULT '',
    purpose           text NOT NULL DEFAULT '',
    attempts          integer NOT NULL DEFAULT 0,
    attempt_log       text NOT NULL DEFAULT ''
);
-- Every index slows the batched inserts down. (team_id, time) serves the
-- raw edges of totals, the logs and the retention purge; (team_id, project,
-- time) per-project logs. The queue's usage_job_once comes with 00060.
CREATE INDEX usage_team_time ON usage (team_id, time);
CREATE INDEX usage_team_project_time ON usage (team_id, project, time);

-- Prompts and responses, for teams that keep them, live apart from the
-- accounting rows: the ledger stays narrow and fast to scan.
CREATE TABLE usage_bodies (
    id       text COLLATE "C" PRIMARY KEY,
    prompt   text NOT NULL DEFAULT '',
    response text NOT NULL DEFAULT ''
);

-- Hourly and daily rollups: one row per (team, UTC hour or day, key,
-- project, requested model), maintained by InsertUsage in its transaction
-- and read by SumUsage instead of the records (records only for the
-- sub-hour edges of a range). They outlive the records' retention. cost is
-- in nanos; errors counts status >= 400; latency_ms_sum / requests is the
-- average. The key leads with the team: every query is one team's range.
-- Every batch updates the current hour's rows, none of them indexed
-- columns: the free space a fillfactor of 80 leaves lets those updates stay
-- HOT (no index entry, no page split).
CREATE TABLE usage_hourly (
    team_id           text COLLATE "C" NOT NULL,
    bucket            timestamptz NOT NULL,
    key_id            text COLLATE "C" NOT NULL,
    project           text COLLATE "C" NOT NULL,
    model             text COLLATE "C" NOT NULL,
    requests          bigint NOT NULL DEFAULT 0,
    errors            bigint NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    cost              bigint NOT NULL DEFAULT 0,
    latency_ms_sum    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, bucket, key_id, project, model)
) WITH (fillfactor = 80);

-- The daily rollup has the hourly one's columns and key.
CREATE TABLE usage_daily (LIKE usage_hourly INCLUDING ALL) WITH (fillfactor = 80);

-- +goose Down
DROP TABLE IF EXISTS usage_daily;
DROP TABLE IF EXISTS usage_hourly;
DROP TABLE IF EXISTS usage_bodies;
DROP TABLE IF EXISTS usage;
