-- +goose Up
-- Batches of OpenAI's /v1/batches and StackForDevs' /v1/batch. Their items
-- are rows of jobs_queue whose grp is the batch ID. A NULL time is "not
-- yet".
CREATE TABLE batches (
    id                TEXT PRIMARY KEY,
    team_id           TEXT NOT NULL,
    key_id            TEXT NOT NULL DEFAULT '',
    api               TEXT NOT NULL,
    project           TEXT NOT NULL DEFAULT '',
    endpoint          TEXT NOT NULL DEFAULT '',
    input_file_id     TEXT NOT NULL DEFAULT '',
    completion_window TEXT NOT NULL DEFAULT '',
    metadata          TEXT NOT NULL DEFAULT '{}',
    webhook_url       TEXT NOT NULL DEFAULT '',
    webhook_secret    TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL,
    total             INTEGER NOT NULL DEFAULT 0,
    output_file_id    TEXT NOT NULL DEFAULT '',
    error_file_id     TEXT NOT NULL DEFAULT '',
    errors            TEXT NOT NULL DEFAULT '[]',
    input_tokens      BIGINT NOT NULL DEFAULT 0,
    output_tokens     BIGINT NOT NULL DEFAULT 0,
    created_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ,
    in_progress_at    TIMESTAMPTZ,
    finalizing_at     TIMESTAMPTZ,
    completed_at      TIMESTAMPTZ,
    failed_at         TIMESTAMPTZ,
    expired_at        TIMESTAMPTZ,
    cancelling_at     TIMESTAMPTZ,
    cancelled_at      TIMESTAMPTZ
);
CREATE INDEX batches_team ON batches (team_id, api, created_at, id);
-- The sweeper's view: open batches only.
CREATE INDEX batches_open ON batches (expires_at)
    WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');

-- OpenAI files: batch input uploads and generated output and error files.
CREATE TABLE batch_files (
    id         TEXT PRIMARY KEY,
    team_id    TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    filename   TEXT NOT NULL DEFAULT '',
    bytes      BIGINT NOT NULL,
    content    BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ
);
CREATE INDEX batch_files_team ON batch_files (team_id, created_at, id);

-- Every attempt to deliver a batch's webhook, for GET /v1/batch/{id}/webhooks.
CREATE TABLE batch_webhook_deliveries (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id     TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    url         TEXT NOT NULL,
    status_code INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL DEFAULT 0,
    time        TIMESTAMPTZ NOT NULL
);
CREATE INDEX batch_webhook_deliveries_batch ON batch_webhook_deliveries (batch_id, id);

-- +goose Down
DROP TABLE IF EXISTS batch_webhook_deliveries;
DROP TABLE IF EXISTS batch_files;
DROP TABLE IF EXISTS batches;
