-- +goose Up
-- Core tables: written by the core stores' implementation (teams, keys,
-- models, settings, model groups, credits).
SELECT 1;

-- +goose Down
SELECT 1;
