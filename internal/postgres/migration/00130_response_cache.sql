-- +goose Up
-- Response cache (issue 18): calls the cache answered and what they saved.
-- usage.cache_hits is 1 for a call the response cache answered (its cost
-- is then 0) and 0 otherwise; saved_cost is what the answer cost when it
-- was first served, in nano-dollars. The rollups sum both.
ALTER TABLE usage ADD COLUMN cache_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE usage ADD COLUMN saved_cost bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN cache_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly ADD COLUMN saved_cost bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN cache_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_daily ADD COLUMN saved_cost bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly_all ADD COLUMN cache_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_hourly_all ADD COLUMN saved_cost bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_daily_all ADD COLUMN cache_hits bigint NOT NULL DEFAULT 0;
ALTER TABLE usage_daily_all ADD COLUMN saved_cost bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE usage_daily_all DROP COLUMN saved_cost;
ALTER TABLE usage_daily_all DROP COLUMN cache_hits;
ALTER TABLE usage_hourly_all DROP COLUMN saved_cost;
ALTER TABLE usage_hourly_all DROP COLUMN cache_hits;
ALTER TABLE usage_daily DROP COLUMN saved_cost;
ALTER TABLE usage_daily DROP COLUMN cache_hits;
ALTER TABLE usage_hourly DROP COLUMN saved_cost;
ALTER TABLE usage_hourly DROP COLUMN cache_hits;
ALTER TABLE usage DROP COLUMN saved_cost;
ALTER TABLE usage DROP COLUMN cache_hits;
