-- +goose Up
-- Limits, budgets and allowlists travel as one JSON "policy" object per team
-- and key: they are read together on every cache miss and changed together by
-- PATCH, and new knobs need no migration. Credits stay a real column because
-- they change atomically in SQL.
ALTER TABLE teams ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';
ALTER TABLE teams ADD COLUMN credits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN policy TEXT NOT NULL DEFAULT '{}';
ALTER TABLE models ADD COLUMN deployments TEXT NOT NULL DEFAULT '[]';
ALTER TABLE models ADD COLUMN strategy TEXT NOT NULL DEFAULT '';

CREATE TABLE IF NOT EXISTS model_groups (
    name       TEXT PRIMARY KEY,
    models     TEXT NOT NULL,
    strategy   TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- Every change of a team's credit balance; the balance is their sum.
CREATE TABLE IF NOT EXISTS credit_movements (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id       TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    ref           TEXT NOT NULL DEFAULT '',
    time          INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS credit_movements_team ON credit_movements (team_id, id);

-- +goose Down
DROP TABLE IF EXISTS credit_movements;
DROP TABLE IF EXISTS model_groups;
ALTER TABLE models DROP COLUMN strategy;
ALTER TABLE models DROP COLUMN deployments;
ALTER TABLE keys DROP COLUMN policy;
ALTER TABLE teams DROP COLUMN credits;
ALTER TABLE teams DROP COLUMN policy;
