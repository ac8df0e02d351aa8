-- Prelude of the limiter's scripts (redis.go prepends it). See window.go.
--
-- A rule's state is a hash: field = bucket number (decimal), value = units
-- charged in it. Times are µs on Redis's clock, so replicas with skewed
-- clocks agree; µs since the epoch stay below 2^53, where Lua's doubles are
-- exact. Before Redis 5, a script that reads TIME may only write in effects
-- replication mode.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

-- fdiv is floor(a/b) for b > 0, exact where a/b in floating point may round.
local function fdiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end

-- expire lets the key go when its newest bucket k has left the window.
local function expire(key, k, g, w)
  redis.call('PEXPIRE', key, math.max(math.ceil(((k + 1) * g + w - now) / 1000), 1))
end

-- load returns a key's live buckets, oldest first ({k = ..., n = ...}),
-- deleting the fields that left the window (or are not ours).
local function load(key, g, w)
  local old = fdiv(now - w, g)
  local flat = redis.call('HGETALL', key)
  local live, dead = {}, {}
  for j = 1, #flat, 2 do
    local k, n = tonumber(flat[j]), tonumber(flat[j + 1])
    if k == nil or n == nil or k < old or n <= 0 then
      dead[#dead + 1] = flat[j]
    else
      live[#live + 1] = {k = k, n = n}
    end
  end
  if #dead > 0 then redis.call('HDEL', key, unpack(dead)) end
  table.sort(live, function(a, b) return a.k < b.k end)
  return live
end
