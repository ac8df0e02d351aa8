-- Prelude of every budget script (redis.go prepends it).
--
-- A scope's state for one period is three keys, passed as KEYS[3i-2..3i]:
--   hash      fields spent and reserved, in integer nanodollars
--   held      reservations, member "<id>:<amount>", scored by the Unix ms
--             at which they expire
--   released  reservations that expired unsettled, scored by when, so that
--             a late settle still books its cost, once
-- Amounts move with HINCRBY, exact on int64; Lua compares them as doubles,
-- exact below 2^53 nanodollars (about 9 million dollars).
--
-- Before Redis 5, a script that reads TIME may only write in effects replication mode.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- A released reservation is remembered this long for a late settle.
local releasedMs = 24 * 3600 * 1000

local function amountOf(member)
  return string.match(member, ':(%d+)$') or '0'
end

-- release gives back the reservations that expired unsettled: their replica
-- died, or lost Redis, before it could settle them.
local function release(hash, held, released)
  redis.call('ZREMRANGEBYSCORE', released, '-inf', nowMs - releasedMs)
  local gone = redis.call('ZRANGEBYSCORE', held, '-inf', nowMs)
  if #gone == 0 then return end
  for _, m in ipairs(gone) do
    redis.call('HINCRBY', hash, 'reserved', '-' .. amountOf(m))
    redis.call('ZADD', released, nowMs, m)
  end
  redis.call('ZREMRANGEBYSCORE', held, '-inf', nowMs)
end

-- expire sets when a scope's keys go: at keepMs (its period's end plus the
-- reservation TTL), and never before what is held in them has expired.
local function expire(i, keepMs, ttlMs)
  local at = string.format('%d', math.max(keepMs, nowMs + ttlMs))
  for k = 3 * i - 2, 3 * i do
    redis.call('PEXPIREAT', KEYS[k], at)
  end
end
