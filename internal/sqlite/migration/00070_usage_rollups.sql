-- +goose Up
-- Hourly and daily rollups of the usage ledger: one row per (team, UTC hour
-- or day, key, project, requested model). InsertUsage adds every record it
-- inserts to both in the same transaction, and SumUsage reads them instead of
-- scanning records (records only for the sub-hour edges of a range), so a
-- month of a team's usage sums a few thousand rows however many records it
-- holds. Rollups outlive the records: a retention purge deletes records only.
-- bucket is the start of the hour or day in unix ms; cost is in nanos;
-- errors counts status >= 400; latency_ms_sum / requests is the average.
-- The key leads with the team: every query is one team's time range.
CREATE TABLE IF NOT EXISTS usage_hourly (
    team_id           TEXT NOT NULL,
    bucket            INTEGER NOT NULL,
    key_id            TEXT NOT NULL,
    project           TEXT NOT NULL,
    model             TEXT NOT NULL,
    requests          INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, bucket, key_id, project, model)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS usage_daily (
    team_id           TEXT NOT NULL,
    bucket            INTEGER NOT NULL,
    key_id            TEXT NOT NULL,
    project           TEXT NOT NULL,
    model             TEXT NOT NULL,
    requests          INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team_id, bucket, key_id, project, model)
) WITHOUT ROWID;

-- Backfill from the records already there. Buckets are floored (the modulo
-- of a negative time is negative in SQLite), as Go's Truncate floors them.
INSERT INTO usage_hourly (team_id, bucket, key_id, project, model,
    requests, errors, prompt_tokens, completion_tokens, cost, latency_ms_sum)
SELECT team_id, time - ((time % 3600000) + 3600000) % 3600000, key_id, project, requested_model,
    count(*), sum(status >= 400), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms)
FROM usage
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO usage_daily (team_id, bucket, key_id, project, model,
    requests, errors, prompt_tokens, completion_tokens, cost, latency_ms_sum)
SELECT team_id, bucket - ((bucket % 86400000) + 86400000) % 86400000, key_id, project, model,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum)
FROM usage_hourly
GROUP BY 1, 2, 3, 4, 5;

-- +goose Down
DROP TABLE IF EXISTS usage_daily;
DROP TABLE IF EXISTS usage_hourly;
