-- Settle: release a reservation and book the true cost, exactly once.
--
-- KEYS[3i-2..3i]  hash, held and released of scope i (see prelude.lua)
-- ARGV[1] reservation member "<id>:<amount>", or "" to book a cost that no
-- reservation here holds (a call admitted locally while Redis was down)
-- ARGV[2] the true cost (nanodollars)
-- Returns how many scopes it booked. A reservation found in neither held
-- nor released was settled already, so a settle whose reply was lost can be
-- sent again.
local booked = 0
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
