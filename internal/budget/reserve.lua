-- Reserve: hold an amount in every scope, or in none.
--
-- KEYS[3i-2..3i]  hash, held and released of scope i (see prelude.lua)
-- ARGV[1] amount (nanodollars), ARGV[2] reservation id, ARGV[3] reservation TTL (ms)
-- ARGV[2+2i] limit of scope i (nanodollars), ARGV[3+2i] when its keys may expire (Unix ms)
-- Returns {1} when held; {0, i, spent, reserved} when scope i cannot cover
-- the amount; {-1, i, j, ...} when scopes i, j, ... are not loaded yet (the
-- caller loads them from the ledger and calls again); {2} when the
-- reservation was cancelled before it ran (see settle.lua): it holds nothing.
local n = #KEYS / 3
local member = ARGV[2] .. ':' .. ARGV[1]
for i = 1, n do
  if redis.call('ZSCORE', KEYS[3 * i], member) then return {2} end
end
local missing = {-1}
for i = 1, n do
  if redis.call('EXISTS', KEYS[3 * i - 2]) == 0 then
    missing[#missing + 1] = i
  else
    release(KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i])
  end
end
if #missing > 1 then return missing end

local amount = tonumber(ARGV[1])
for i = 1, n do
  local f = redis.call('HMGET', KEYS[3 * i - 2], 'spent', 'reserved')
  local spent, reserved = f[1] or '0', f[2] or '0'
  if tonumber(spent) + tonumber(reserved) + amount > tonumber(ARGV[2 + 2 * i]) then
    return {0, i, spent, reserved}
  end
end

local ttl = tonumber(ARGV[3])
for i = 1, n do
  redis.call('HINCRBY', KEYS[3 * i - 2], 'reserved', ARGV[1])
  redis.call('ZADD', KEYS[3 * i - 1], nowMs + ttl, member)
  expire(i, tonumber(ARGV[3 + 2 * i]), ttl)
end
return {1}
