-- Adjust: true up one rule, never refusing.
--
-- KEYS[1] state of the rule
-- ARGV[1] units: negative gives them back to bucket ARGV[2] (where the take
-- charged them; nothing if it has left the window), positive charges them now
-- ARGV[3] bucket length g (µs), ARGV[4] window w (µs)
-- Returns the units the key holds afterwards.
local delta, g, w = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
local live = load(KEYS[1], g, w)
local used = 0
for _, b in ipairs(live) do used = used + b.n end
if delta < 0 then
  local field = ARGV[2]
  local n = tonumber(redis.call('HGET', KEYS[1], field) or '0')
  if n > 0 then
    local back = math.min(n, -delta)
    if back >= n then redis.call('HDEL', KEYS[1], field)
    else redis.call('HINCRBY', KEYS[1], field, -back) end
    used = used - back
  end
elseif delta > 0 then
  local cur = fdiv(now, g)
  redis.call('HINCRBY', KEYS[1], string.format('%d', cur), delta)
  expire(KEYS[1], cur, g, w)
  used = used + delta
end
return used
