-- Adjust: move one rule's TAT by a signed amount, never refusing.
--
-- KEYS[1] state of the rule (see take.lua for the format)
-- ARGV[1] signed change of the backlog in ns (negative gives time back)
-- ARGV[2] the largest backlog allowed, in ns
-- Before Redis 5, a script that reads TIME may only write in effects replication mode.
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local nowSec = tonumber(t[1])
local nowNs = tonumber(t[2]) * 1000

local b = 0
local v = redis.call('GET', KEYS[1])
if v then
  local sec = tonumber(string.sub(v, 1, -10))
  local ns = tonumber(string.sub(v, -9))
  if sec and ns then
    b = (sec - nowSec) * 1000000000 + ns - nowNs
    if b < 0 then b = 0 end
  end
end

b = b + tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
if b > cap then b = cap end
if b <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end

local ns = nowNs + b
local sec = math.floor(ns / 1000000000)
ns = ns - sec * 1000000000
if ns < 0 then sec = sec - 1; ns = ns + 1000000000
elseif ns >= 1000000000 then sec = sec + 1; ns = ns - 1000000000 end
redis.call('SET', KEYS[1], string.format('%d%09d', nowSec + sec, ns),
  'PX', math.floor(b / 1000000) + 1)
return b
