-- +goose Up
-- What the dashboard reads (issue 16): latency histograms in the rollups, and
-- rollups over all teams.
--
-- 1. Every rollup row gets a latency histogram: lat_NN counts the records of
--    the row whose latency_ms falls in bucket NN, whose inclusive upper
--    bounds are, in ms: lat_00 5, lat_01 10, lat_02 25, lat_03 50, lat_04 100,
--    lat_05 150, lat_06 250, lat_07 400, lat_08 600, lat_09 800, lat_10 1000,
--    lat_11 1500, lat_12 2000, lat_13 3000, lat_14 5000, lat_15 8000,
--    lat_16 13000, lat_17 20000, lat_18 40000,
--    and lat_19 above 40000 (storecodec.LatencyBounds). Percentiles over any
--    set of rows are estimated from the summed histograms.
-- 2. usage_hourly_all and usage_daily_all sum every team: one row per
--    (dim, bucket, value), dim being '' (the totals, value ''), 'team',
--    'model', 'key' or 'project'. A dashboard over the whole instance reads a
--    few rows per bucket there, not one per team, key, project and model.
--    InsertUsage maintains them in its transaction, after the other rollups.
-- 3. Indexes for the dashboard's lists: every team's batches newest first,
--    and standalone tasks (queued completions) by kind, newest first.
ALTER TABLE usage_hourly ADD COLUMN lat_00 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_01 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_02 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_03 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_04 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_05 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_06 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_07 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_08 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_09 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_10 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_11 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_12 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_13 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_14 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_15 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_16 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_17 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_18 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN lat_19 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_00 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_01 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_02 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_03 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_04 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_05 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_06 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_07 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_08 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_09 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_10 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_11 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_12 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_13 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_14 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_15 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_16 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_17 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_18 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN lat_19 INTEGER NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS usage_hourly_all (
    dim               TEXT NOT NULL,
    bucket            INTEGER NOT NULL,
    value             TEXT NOT NULL,
    requests          INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum    INTEGER NOT NULL DEFAULT 0,
    lat_00            INTEGER NOT NULL DEFAULT 0,
    lat_01            INTEGER NOT NULL DEFAULT 0,
    lat_02            INTEGER NOT NULL DEFAULT 0,
    lat_03            INTEGER NOT NULL DEFAULT 0,
    lat_04            INTEGER NOT NULL DEFAULT 0,
    lat_05            INTEGER NOT NULL DEFAULT 0,
    lat_06            INTEGER NOT NULL DEFAULT 0,
    lat_07            INTEGER NOT NULL DEFAULT 0,
    lat_08            INTEGER NOT NULL DEFAULT 0,
    lat_09            INTEGER NOT NULL DEFAULT 0,
    lat_10            INTEGER NOT NULL DEFAULT 0,
    lat_11            INTEGER NOT NULL DEFAULT 0,
    lat_12            INTEGER NOT NULL DEFAULT 0,
    lat_13            INTEGER NOT NULL DEFAULT 0,
    lat_14            INTEGER NOT NULL DEFAULT 0,
    lat_15            INTEGER NOT NULL DEFAULT 0,
    lat_16            INTEGER NOT NULL DEFAULT 0,
    lat_17            INTEGER NOT NULL DEFAULT 0,
    lat_18            INTEGER NOT NULL DEFAULT 0,
    lat_19            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, bucket, value)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS usage_daily_all (
    dim               TEXT NOT NULL,
    bucket            INTEGER NOT NULL,
    value             TEXT NOT NULL,
    requests          INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    latency_ms_sum    INTEGER NOT NULL DEFAULT 0,
    lat_00            INTEGER NOT NULL DEFAULT 0,
    lat_01            INTEGER NOT NULL DEFAULT 0,
    lat_02            INTEGER NOT NULL DEFAULT 0,
    lat_03            INTEGER NOT NULL DEFAULT 0,
    lat_04            INTEGER NOT NULL DEFAULT 0,
    lat_05            INTEGER NOT NULL DEFAULT 0,
    lat_06            INTEGER NOT NULL DEFAULT 0,
    lat_07            INTEGER NOT NULL DEFAULT 0,
    lat_08            INTEGER NOT NULL DEFAULT 0,
    lat_09            INTEGER NOT NULL DEFAULT 0,
    lat_10            INTEGER NOT NULL DEFAULT 0,
    lat_11            INTEGER NOT NULL DEFAULT 0,
    lat_12            INTEGER NOT NULL DEFAULT 0,
    lat_13            INTEGER NOT NULL DEFAULT 0,
    lat_14            INTEGER NOT NULL DEFAULT 0,
    lat_15            INTEGER NOT NULL DEFAULT 0,
    lat_16            INTEGER NOT NULL DEFAULT 0,
    lat_17            INTEGER NOT NULL DEFAULT 0,
    lat_18            INTEGER NOT NULL DEFAULT 0,
    lat_19            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, bucket, value)
) WITHOUT ROWID;

-- Backfill the histograms from the records still there (a retention purge
-- may have taken older ones: their rows keep a histogram of zeros and the
-- percentiles of those hours are unknown). WHERE true: SQLite's parser would
-- otherwise read ON CONFLICT as a join constraint.
INSERT INTO usage_hourly (team_id, bucket, key_id, project, model, lat_00, lat_01, lat_02, lat_03, lat_04, lat_05, lat_06, lat_07, lat_08, lat_09, lat_10, lat_11, lat_12, lat_13, lat_14, lat_15, lat_16, lat_17, lat_18, lat_19)
SELECT team_id, time - ((time % 3600000) + 3600000) % 3600000, key_id, project, requested_model,
    sum(latency_ms <= 5),
    sum(latency_ms > 5 AND latency_ms <= 10),
    sum(latency_ms > 10 AND latency_ms <= 25),
    sum(latency_ms > 25 AND latency_ms <= 50),
    sum(latency_ms > 50 AND latency_ms <= 100),
    sum(latency_ms > 100 AND latency_ms <= 150),
    sum(latency_ms > 150 AND latency_ms <= 250),
    sum(latency_ms > 250 AND latency_ms <= 400),
    sum(latency_ms > 400 AND latency_ms <= 600),
    sum(latency_ms > 600 AND latency_ms <= 800),
    sum(latency_ms > 800 AND latency_ms <= 1000),
    sum(latency_ms > 1000 AND latency_ms <= 1500),
    sum(latency_ms > 1500 AND latency_ms <= 2000),
    sum(latency_ms > 2000 AND latency_ms <= 3000),
    sum(latency_ms > 3000 AND latency_ms <= 5000),
    sum(latency_ms > 5000 AND latency_ms <= 8000),
    sum(latency_ms > 8000 AND latency_ms <= 13000),
    sum(latency_ms > 13000 AND latency_ms <= 20000),
    sum(latency_ms > 20000 AND latency_ms <= 40000),
    sum(latency_ms > 40000)
FROM usage WHERE true
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (team_id, bucket, key_id, project, model) DO UPDATE SET
    lat_00 = excluded.lat_00,
    lat_01 = excluded.lat_01,
    lat_02 = excluded.lat_02,
    lat_03 = excluded.lat_03,
    lat_04 = excluded.lat_04,
    lat_05 = excluded.lat_05,
    lat_06 = excluded.lat_06,
    lat_07 = excluded.lat_07,
    lat_08 = excluded.lat_08,
    lat_09 = excluded.lat_09,
    lat_10 = excluded.lat_10,
    lat_11 = excluded.lat_11,
    lat_12 = excluded.lat_12,
    lat_13 = excluded.lat_13,
    lat_14 = excluded.lat_14,
    lat_15 = excluded.lat_15,
    lat_16 = excluded.lat_16,
    lat_17 = excluded.lat_17,
    lat_18 = excluded.lat_18,
    lat_19 = excluded.lat_19;

INSERT INTO usage_daily (team_id, bucket, key_id, project, model, lat_00, lat_01, lat_02, lat_03, lat_04, lat_05, lat_06, lat_07, lat_08, lat_09, lat_10, lat_11, lat_12, lat_13, lat_14, lat_15, lat_16, lat_17, lat_18, lat_19)
SELECT team_id, bucket - ((bucket % 86400000) + 86400000) % 86400000, key_id, project, model,
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_hourly WHERE true
GROUP BY 1, 2, 3, 4, 5
ON CONFLICT (team_id, bucket, key_id, project, model) DO UPDATE SET
    lat_00 = excluded.lat_00,
    lat_01 = excluded.lat_01,
    lat_02 = excluded.lat_02,
    lat_03 = excluded.lat_03,
    lat_04 = excluded.lat_04,
    lat_05 = excluded.lat_05,
    lat_06 = excluded.lat_06,
    lat_07 = excluded.lat_07,
    lat_08 = excluded.lat_08,
    lat_09 = excluded.lat_09,
    lat_10 = excluded.lat_10,
    lat_11 = excluded.lat_11,
    lat_12 = excluded.lat_12,
    lat_13 = excluded.lat_13,
    lat_14 = excluded.lat_14,
    lat_15 = excluded.lat_15,
    lat_16 = excluded.lat_16,
    lat_17 = excluded.lat_17,
    lat_18 = excluded.lat_18,
    lat_19 = excluded.lat_19;

-- The all-teams rollups from the per-team ones.
INSERT INTO usage_hourly_all (dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, cost, latency_ms_sum, lat_00, lat_01, lat_02, lat_03, lat_04, lat_05, lat_06, lat_07, lat_08, lat_09, lat_10, lat_11, lat_12, lat_13, lat_14, lat_15, lat_16, lat_17, lat_18, lat_19)
SELECT '', bucket, '',
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_hourly GROUP BY bucket
UNION ALL
SELECT 'team', bucket, team_id,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_hourly GROUP BY bucket, team_id
UNION ALL
SELECT 'model', bucket, model,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_hourly GROUP BY bucket, model
UNION ALL
SELECT 'key', bucket, key_id,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_hourly GROUP BY bucket, key_id
UNION ALL
SELECT 'project', bucket, project,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_hourly GROUP BY bucket, project;

INSERT INTO usage_daily_all (dim, bucket, value, requests, errors, prompt_tokens, completion_tokens, cost, latency_ms_sum, lat_00, lat_01, lat_02, lat_03, lat_04, lat_05, lat_06, lat_07, lat_08, lat_09, lat_10, lat_11, lat_12, lat_13, lat_14, lat_15, lat_16, lat_17, lat_18, lat_19)
SELECT '', bucket, '',
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_daily GROUP BY bucket
UNION ALL
SELECT 'team', bucket, team_id,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_daily GROUP BY bucket, team_id
UNION ALL
SELECT 'model', bucket, model,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_daily GROUP BY bucket, model
UNION ALL
SELECT 'key', bucket, key_id,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_daily GROUP BY bucket, key_id
UNION ALL
SELECT 'project', bucket, project,
    sum(requests), sum(errors), sum(prompt_tokens), sum(completion_tokens), sum(cost), sum(latency_ms_sum),
    sum(lat_00),
    sum(lat_01),
    sum(lat_02),
    sum(lat_03),
    sum(lat_04),
    sum(lat_05),
    sum(lat_06),
    sum(lat_07),
    sum(lat_08),
    sum(lat_09),
    sum(lat_10),
    sum(lat_11),
    sum(lat_12),
    sum(lat_13),
    sum(lat_14),
    sum(lat_15),
    sum(lat_16),
    sum(lat_17),
    sum(lat_18),
    sum(lat_19)
FROM usage_daily GROUP BY bucket, project;

CREATE INDEX IF NOT EXISTS batches_created ON batches (created_at, id);
CREATE INDEX IF NOT EXISTS jobs_queue_standalone ON jobs_queue (kind, created_at, id) WHERE grp = '';
CREATE INDEX IF NOT EXISTS jobs_queue_standalone_team ON jobs_queue (team_id, kind, created_at, id) WHERE grp = '';

-- +goose Down
DROP INDEX IF EXISTS jobs_queue_standalone_team;
DROP INDEX IF EXISTS jobs_queue_standalone;
DROP INDEX IF EXISTS batches_created;
DROP TABLE IF EXISTS usage_daily_all;
DROP TABLE IF EXISTS usage_hourly_all;
ALTER TABLE usage_daily DROP COLUMN lat_00;
ALTER TABLE usage_daily DROP COLUMN lat_01;
ALTER TABLE usage_daily DROP COLUMN lat_02;
ALTER TABLE usage_daily DROP COLUMN lat_03;
ALTER TABLE usage_daily DROP COLUMN lat_04;
ALTER TABLE usage_daily DROP COLUMN lat_05;
ALTER TABLE usage_daily DROP COLUMN lat_06;
ALTER TABLE usage_daily DROP COLUMN lat_07;
ALTER TABLE usage_daily DROP COLUMN lat_08;
ALTER TABLE usage_daily DROP COLUMN lat_09;
ALTER TABLE usage_daily DROP COLUMN lat_10;
ALTER TABLE usage_daily DROP COLUMN lat_11;
ALTER TABLE usage_daily DROP COLUMN lat_12;
ALTER TABLE usage_daily DROP COLUMN lat_13;
ALTER TABLE usage_daily DROP COLUMN lat_14;
ALTER TABLE usage_daily DROP COLUMN lat_15;
ALTER TABLE usage_daily DROP COLUMN lat_16;
ALTER TABLE usage_daily DROP COLUMN lat_17;
ALTER TABLE usage_daily DROP COLUMN lat_18;
ALTER TABLE usage_daily DROP COLUMN lat_19;
ALTER TABLE usage_hourly DROP COLUMN lat_00;
ALTER TABLE usage_hourly DROP COLUMN lat_01;
ALTER TABLE usage_hourly DROP COLUMN lat_02;
ALTER TABLE usage_hourly DROP COLUMN lat_03;
ALTER TABLE usage_hourly DROP COLUMN lat_04;
ALTER TABLE usage_hourly DROP COLUMN lat_05;
ALTER TABLE usage_hourly DROP COLUMN lat_06;
ALTER TABLE usage_hourly DROP COLUMN lat_07;
ALTER TABLE usage_hourly DROP COLUMN lat_08;
ALTER TABLE usage_hourly DROP COLUMN lat_09;
ALTER TABLE usage_hourly DROP COLUMN lat_10;
ALTER TABLE usage_hourly DROP COLUMN lat_11;
ALTER TABLE usage_hourly DROP COLUMN lat_12;
ALTER TABLE usage_hourly DROP COLUMN lat_13;
ALTER TABLE usage_hourly DROP COLUMN lat_14;
ALTER TABLE usage_hourly DROP COLUMN lat_15;
ALTER TABLE usage_hourly DROP COLUMN lat_16;
ALTER TABLE usage_hourly DROP COLUMN lat_17;
ALTER TABLE usage_hourly DROP COLUMN lat_18;
ALTER TABLE usage_hourly DROP COLUMN lat_19;
