-- +goose Up
-- Times are INTEGER unix milliseconds, lists are JSON text. IF NOT EXISTS lets
-- two processes that migrate the same file at once both succeed.

CREATE TABLE IF NOT EXISTS teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    models     TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS keys (
    id          TEXT PRIMARY KEY,
    -- Deleting a team deletes its keys, so no deleted team's key can authenticate.
    team_id     TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name        TEXT NOT NULL DEFAULT '',
    prefix      TEXT NOT NULL DEFAULT '',
    key_hash    TEXT NOT NULL,
    secret_hash TEXT NOT NULL DEFAULT '',
    models      TEXT NOT NULL DEFAULT '[]',
    expires_at  INTEGER,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL
);

-- Every request looks its key up by hash.
CREATE UNIQUE INDEX IF NOT EXISTS keys_key_hash ON keys (key_hash);
-- Partial, so that keys without a secret do not collide on ''.
CREATE UNIQUE INDEX IF NOT EXISTS keys_secret_hash ON keys (secret_hash) WHERE secret_hash <> '';
CREATE INDEX IF NOT EXISTS keys_team_id ON keys (team_id);

CREATE TABLE IF NOT EXISTS models (
    name            TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    upstream_model  TEXT NOT NULL DEFAULT '',
    input_per_mtok  REAL,
    output_per_mtok REAL,
    rpm             INTEGER NOT NULL DEFAULT 0,
    tpm             INTEGER NOT NULL DEFAULT 0,
    context_window  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The usage ledger has no foreign key to teams: deleting a team must keep its
-- history, and a foreign key check would slow every batch down. The id makes
-- INSERT OR IGNORE idempotent when a failed flush is retried.
CREATE TABLE IF NOT EXISTS usage (
    id                TEXT PRIMARY KEY,
    time              INTEGER NOT NULL,
    team_id           TEXT NOT NULL,
    key_id            TEXT NOT NULL DEFAULT '',
    project           TEXT NOT NULL DEFAULT '',
    endpoint          TEXT NOT NULL DEFAULT '',
    requested_model   TEXT NOT NULL DEFAULT '',
    provider          TEXT NOT NULL DEFAULT '',
    upstream_model    TEXT NOT NULL DEFAULT '',
    prompt_tokens     INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    tokens_estimated  INTEGER NOT NULL DEFAULT 0,
    cost              INTEGER NOT NULL DEFAULT 0,
    latency_ms        INTEGER NOT NULL DEFAULT 0,
    ttft_ms           INTEGER NOT NULL DEFAULT 0,
    stream            INTEGER NOT NULL DEFAULT 0,
    status            INTEGER NOT NULL DEFAULT 0,
    error_type        TEXT NOT NULL DEFAULT '',
    purpose           TEXT NOT NULL DEFAULT '',
    attempts          INTEGER NOT NULL DEFAULT 0
);

-- The only secondary index: every report is per team over a time window, and
-- each extra index would slow the batched inserts down.
CREATE INDEX IF NOT EXISTS usage_team_time ON usage (team_id, time);

-- +goose Down
DROP TABLE IF EXISTS usage;
DROP TABLE IF EXISTS settings;
DROP TABLE IF EXISTS models;
DROP TABLE IF EXISTS keys;
DROP TABLE IF EXISTS teams;
