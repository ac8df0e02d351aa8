-- Presence: a replica's heartbeat, and the replicas seen lately.
--
-- KEYS[1] sorted set of replica ids scored by when their presence lapses (ms)
-- ARGV[1] this replica's id, ARGV[2] how long its presence lasts (ms)
-- Returns the ids of the replicas present, this one included.
local ms = math.floor(now / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
redis.call('ZADD', KEYS[1], ms + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
return redis.call('ZRANGE', KEYS[1], 0, -1)
