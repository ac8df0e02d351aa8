-- +goose Up
-- The core tables: teams, keys, the model catalog, settings, model groups and
-- the credit ledger. Lists and policies are JSON text holding the same JSON
-- as SQLite's columns (internal/storecodec encodes both), so that new knobs
-- need no migration. Credits stay a real column because they change
-- atomically in SQL.

CREATE TABLE teams (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    models     text NOT NULL DEFAULT '[]',
    policy     text NOT NULL DEFAULT '{}',
    credits    bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL
);

CREATE TABLE keys (
    id          text PRIMARY KEY,
    -- Deleting a team deletes its keys, so no deleted team's key can authenticate.
    team_id     text NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name        text NOT NULL DEFAULT '',
    prefix      text NOT NULL DEFAULT '',
    key_hash    text NOT NULL,
    secret_hash text NOT NULL DEFAULT '',
    models      text NOT NULL DEFAULT '[]',
    expires_at  timestamptz,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL,
    policy      text NOT NULL DEFAULT '{}'
);

-- Every request looks its key up by hash.
CREATE UNIQUE INDEX keys_key_hash ON keys (key_hash);
-- Partial, so that keys without a secret do not collide on ''.
CREATE UNIQUE INDEX keys_secret_hash ON keys (secret_hash) WHERE secret_hash <> '';
-- Also serves the cascade when a team is deleted.
CREATE INDEX keys_team_id ON keys (team_id);

CREATE TABLE models (
    name            text PRIMARY KEY,
    provider        text NOT NULL,
    upstream_model  text NOT NULL DEFAULT '',
    -- NULL is an unknown price, which differs from a free model's 0.
    input_per_mtok  double precision,
    output_per_mtok double precision,
    rpm             bigint NOT NULL DEFAULT 0,
    tpm             bigint NOT NULL DEFAULT 0,
    context_window  bigint NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    deployments     text NOT NULL DEFAULT '[]',
    strategy        text NOT NULL DEFAULT ''
);

CREATE TABLE settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE model_groups (
    name       text PRIMARY KEY,
    models     text NOT NULL,
    strategy   text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL
);

-- Every change of a team's credit balance; the balance is their sum. No
-- foreign key to teams: like usage, the ledger outlives a deleted team.
CREATE TABLE credit_movements (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id       text NOT NULL,
    amount        bigint NOT NULL,
    balance_after bigint NOT NULL,
    reason        text NOT NULL DEFAULT '',
    ref           text NOT NULL DEFAULT '',
    time          timestamptz NOT NULL
);
CREATE INDEX credit_movements_team ON credit_movements (team_id, id);

-- +goose Down
DROP TABLE credit_movements;
DROP TABLE model_groups;
DROP TABLE settings;
DROP TABLE models;
DROP TABLE keys;
DROP TABLE teams;
