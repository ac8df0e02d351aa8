-- Take: the GCRA check of gcra.go over several rules, all-or-nothing.
--
-- KEYS[i]   state of rule i: its TAT as decimal nanoseconds since the Unix epoch
-- ARGV[2i-1] inc of rule i in ns (cost*window/limit, computed by the caller), -1 if the cost can never fit
-- ARGV[2i]   window of rule i in ns (the burst tolerance)
-- Returns {ok, b1, ..., bn}: ok is 1 if every rule fit and all were charged,
-- bi is rule i's backlog (TAT - now, at least 0) before this take.
--
-- Lua numbers are doubles, exact only below 2^53, and ns since the epoch are
-- above that. So a TAT is never held as one number: it is split into seconds
-- and nanoseconds and only backlogs (below 2^53 ns, about 104 days) are
-- computed with. The clock is Redis's own, so replicas with skewed clocks agree.
-- Before Redis 5, a script that reads TIME may only write in effects replication mode.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local nowSec = tonumber(t[1])
local nowNs = tonumber(t[2]) * 1000

local function backlog(key)
  local v = redis.call('GET', key)
  if not v then return 0 end
  local sec = tonumber(string.sub(v, 1, -10))
  local ns = tonumber(string.sub(v, -9))
  if not sec or not ns then return 0 end -- not ours: treat as absent
  local b = (sec - nowSec) * 1000000000 + ns - nowNs
  if b < 0 then return 0 end
  return b
end

local pending = {} -- key -> backlog after the charges of this take so far
local out = {1}
for i, key in ipairs(KEYS) do
  local inc = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  -- Rules sharing a key share one state: a later one starts where the earlier charge ends.
  local b = pending[key] or backlog(key)
  out[i + 1] = b
  if inc < 0 or (inc > 0 and b + inc > window) then
    out[1] = 0
  end
  if inc > 0 then
    pending[key] = b + inc -- committed only if every rule fits
  end
end

if out[1] == 1 then
  for key, b in pairs(pending) do
    local ns = nowNs + b
    local sec = math.floor(ns / 1000000000)
    ns = ns - sec * 1000000000
    -- The division is in floating point; put a borderline result right.
    if ns < 0 then sec = sec - 1; ns = ns + 1000000000
    elseif ns >= 1000000000 then sec = sec + 1; ns = ns - 1000000000 end
    -- Expire when the TAT has passed (1ms late at worst): the key is then idle.
    redis.call('SET', key, string.format('%d%09d', nowSec + sec, ns),
      'PX', math.floor(b / 1000000) + 1)
  end
end
return out
