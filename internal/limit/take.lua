-- Take: the rolling-window check of window.go over several rules, all-or-nothing.
--
-- KEYS[i]     state of rule i
-- ARGV[4i-3]  cost of rule i, ARGV[4i-2] its limit,
-- ARGV[4i-1]  its bucket length g (µs), ARGV[4i] its window w (µs)
-- Returns {ok, now, used1, newest1, retry1, ..., usedn, newestn, retryn}:
-- ok is 1 if every rule fit and all were charged; used, newest and retry
-- are rule i's view before this take (window.go's look), with the charges
-- of earlier rules on the same key pending in the current bucket.
local states = {} -- key -> {live = buckets, g = g, w = w, pending = units}
local out = {1, now}
for i, key in ipairs(KEYS) do
  local c, limit = tonumber(ARGV[4 * i - 3]), tonumber(ARGV[4 * i - 2])
  local g, w = tonumber(ARGV[4 * i - 1]), tonumber(ARGV[4 * i])
  local s = states[key]
  if not s then
    s = {live = load(key, g, w), g = g, w = w, pending = 0}
    states[key] = s
  end
  local cur = fdiv(now, g)
  local used, newest, retry = s.pending, -1, -1
  for _, b in ipairs(s.live) do used = used + b.n end
  if s.pending > 0 then newest = cur elseif #s.live > 0 then newest = s.live[#s.live].k end
  local fits = c == 0 or (c <= limit and used + c <= limit)
  if not fits then
    out[1] = 0
    if c <= limit then
      local need, freed = used + c - limit, 0
      retry = cur
      for _, b in ipairs(s.live) do
        freed = freed + b.n
        if freed >= need then retry = b.k; break end
      end
    end
  end
  if c > 0 and c <= limit then s.pending = s.pending + c end
  out[#out + 1] = used
  out[#out + 1] = newest
  out[#out + 1] = retry
end

if out[1] == 1 then
  for key, s in pairs(states) do
    if s.pending > 0 then
      local cur = fdiv(now, s.g)
      redis.call('HINCRBY', key, string.format('%d', cur), s.pending)
      expire(key, cur, s.g, s.w)
    end
  end
end
return out
