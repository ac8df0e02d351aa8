-- +goose Up
-- Which deployments a call tried, when it took more than one attempt.
ALTER TABLE usage ADD COLUMN attempt_log TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE usage DROP COLUMN attempt_log;
