-- Load: set scopes' spend as read from the ledger, unless another replica
-- loaded them first: the first load wins and every replica then shares it.
--
-- KEYS[3i-2..3i]  hash, held and released of scope i (see prelude.lua)
-- ARGV[1] reservation TTL (ms); ARGV[2i] spent of scope i per the ledger,
-- ARGV[1+2i] when its keys may expire (Unix ms)
-- Returns how many scopes it set.
local ttl = tonumber(ARGV[1])
local set = 0
for i = 1, #KEYS / 3 do
  local hash, held = KEYS[3 * i - 2], KEYS[3 * i - 1]
  if redis.call('HSETNX', hash, 'spent', ARGV[2 * i]) == 1 then
    -- Reservations may outlive their figures (evicted under memory
    -- pressure): the ledger does not have their cost yet, so keep holding it.
    redis.call('ZREMRANGEBYSCORE', held, '-inf', nowMs)
    local reserved = 0
    for _, m in ipairs(redis.call('ZRANGE', held, 0, -1)) do
      reserved = reserved + tonumber(amountOf(m))
    end
    redis.call('HSET', hash, 'reserved', string.format('%d', reserved))
    expire(i, tonumber(ARGV[1 + 2 * i]), ttl)
    set = set + 1
  end
end
return set
