-- Replay: charge units a replica admitted on its own while Redis was down,
-- in the buckets they belong to on Redis's clock, so that the window
-- spanning Redis's return still counts them.
--
-- KEYS[i]     state of entry i (a key may repeat)
-- ARGV[4i-3]  units, ARGV[4i-2] their age (µs: now minus the end of their bucket),
-- ARGV[4i-1]  bucket length g (µs), ARGV[4i] window w (µs)
-- Returns how many entries were still in their window.
local kept = 0
for i, key in ipairs(KEYS) do
  local n, age = tonumber(ARGV[4 * i - 3]), tonumber(ARGV[4 * i - 2])
  local g, w = tonumber(ARGV[4 * i - 1]), tonumber(ARGV[4 * i])
  local k = fdiv(now - age, g)
  if n > 0 and k >= fdiv(now - w, g) then
    redis.call('HINCRBY', key, string.format('%d', k), n)
    local ttl = redis.call('PTTL', key)
    local want = math.ceil(((k + 1) * g + w - now) / 1000)
    if ttl < want then redis.call('PEXPIRE', key, math.max(want, 1)) end
    kept = kept + 1
  end
end
return kept
