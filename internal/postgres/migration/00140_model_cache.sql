-- +goose Up
-- Response cache per catalog model (issue 18): models.cache_ttl is the TTL
-- of the model's cache policy as a Go duration ("1h"); '' leaves the cache
-- off (the default). Keys' and teams' policies, set, take precedence.
ALTER TABLE models ADD COLUMN cache_ttl TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE models DROP COLUMN cache_ttl;
