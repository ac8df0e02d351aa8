-- Settle: release a reservation and book the true cost, exactly once.
--
-- KEYS[3i-2..3i]  hash, held and released of scope i (see prelude.lua)
-- ARGV[1] reservation member "<id>:<amount>", or "" to book a cost that no
-- reservation here holds (a call admitted locally while Redis was down)
-- ARGV[2] the true cost (nanodollars)
-- ARGV[3] "1" to cancel the reservation instead: a reserve whose reply was
-- lost (Redis frozen or slow past the timeout) may still run, now or later;
-- the call was answered locally, so whatever it holds is released and a
-- tombstone in released makes a later run of it hold nothing.
-- Returns how many scopes it booked. A reservation found in neither held
-- nor released was settled already, so a settle whose reply was lost can be
-- sent again.
local booked = 0
if ARGV[3] == '1' then
  for i = 1, #KEYS / 3 do
    local hash, held, released = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
    if redis.call('ZREM', held, ARGV[1]) == 1 then
      redis.call('HINCRBY', hash, 'reserved', '-' .. amountOf(ARGV[1]))
    end
    if redis.call('EXISTS', hash) == 1 then
      redis.call('ZADD', released, nowMs, ARGV[1])
      if redis.call('PTTL', released) < 0 then redis.call('PEXPIRE', released, releasedMs) end
    end
  end
  return 0
end
for i = 1, #KEYS / 3 do
  local hash, held, released = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  -- A scope that is gone will be loaded from the ledger, which has the cost.
  if redis.call('EXISTS', hash) == 1 then
    local book = ARGV[1] == ''
    if not book and redis.call('ZREM', held, ARGV[1]) == 1 then
      redis.call('HINCRBY', hash, 'reserved', '-' .. amountOf(ARGV[1]))
      book = true
    elseif not book then
      book = redis.call('ZREM', released, ARGV[1]) == 1 -- given back already
    end
    if book then
      redis.call('HINCRBY', hash, 'spent', ARGV[2])
      booked = booked + 1
    end
  end
end
return booked
