-- +goose Up
-- Cached-token pricing (issue 13): the parts of a call's tokens that are
-- priced apart get their own columns in the ledger and in every rollup.
--
-- 1. cache_read_tokens, cache_write_tokens (5-minute lifetime),
--    cache_write_1h_tokens and reasoning_tokens: the prompt tokens the
--    provider's prompt cache served or stored, and the completion tokens
--    spent thinking. They are parts of prompt_tokens and completion_tokens,
--    never added to them. Records written before this migration read 0.
-- 2. models.cache_read_per_mtok and models.cache_write_per_mtok: catalog
--    overrides of the cache-read and 5-minute cache-write prices.
ALTER TABLE usage ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly_all ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly_all ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly_all ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly_all ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily_all ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily_all ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily_all ADD COLUMN cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_daily_all ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE models ADD COLUMN cache_read_per_mtok REAL;
ALTER TABLE models ADD COLUMN cache_write_per_mtok REAL;

-- +goose Down
ALTER TABLE models DROP COLUMN cache_write_per_mtok;
ALTER TABLE models DROP COLUMN cache_read_per_mtok;
ALTER TABLE usage_daily_all DROP COLUMN reasoning_tokens;
ALTER TABLE usage_daily_all DROP COLUMN cache_write_1h_tokens;
ALTER TABLE usage_daily_all DROP COLUMN cache_write_tokens;
ALTER TABLE usage_daily_all DROP COLUMN cache_read_tokens;
ALTER TABLE usage_hourly_all DROP COLUMN reasoning_tokens;
ALTER TABLE usage_hourly_all DROP COLUMN cache_write_1h_tokens;
ALTER TABLE usage_hourly_all DROP COLUMN cache_write_tokens;
ALTER TABLE usage_hourly_all DROP COLUMN cache_read_tokens;
ALTER TABLE usage_daily DROP COLUMN reasoning_tokens;
ALTER TABLE usage_daily DROP COLUMN cache_write_1h_tokens;
ALTER TABLE usage_daily DROP COLUMN cache_write_tokens;
ALTER TABLE usage_daily DROP COLUMN cache_read_tokens;
ALTER TABLE usage_hourly DROP COLUMN reasoning_tokens;
ALTER TABLE usage_hourly DROP COLUMN cache_write_1h_tokens;
ALTER TABLE usage_hourly DROP COLUMN cache_write_tokens;
ALTER TABLE usage_hourly DROP COLUMN cache_read_tokens;
ALTER TABLE usage DROP COLUMN reasoning_tokens;
ALTER TABLE usage DROP COLUMN cache_write_1h_tokens;
ALTER TABLE usage DROP COLUMN cache_write_tokens;
ALTER TABLE usage DROP COLUMN cache_read_tokens;
