-- +goose Up
-- Prompts and responses, for teams that keep them, live apart from the
-- accounting rows: the ledger stays narrow and fast to scan, and bodies can
-- be purged on their own schedule.
CREATE TABLE IF NOT EXISTS usage_bodies (
    id       TEXT PRIMARY KEY,
    prompt   TEXT NOT NULL DEFAULT '',
    response TEXT NOT NULL DEFAULT ''
);
-- Logs list a team's (and project's) records newest first.
CREATE INDEX IF NOT EXISTS usage_team_project_time ON usage (team_id, project, time);

-- +goose Down
DROP INDEX IF EXISTS usage_team_project_time;
DROP TABLE IF EXISTS usage_bodies;
