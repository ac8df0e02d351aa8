-- Forget: drop the figures of a scope's periods that hold nothing, so that
-- the next call loads them from the ledger again.
--
-- KEYS[3i-2..3i]  hash, held and released of one period of the scope (see prelude.lua)
-- Returns how many periods it dropped.
local dropped = 0
for i = 1, #KEYS / 3 do
  local hash, held, released = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  if redis.call('EXISTS', hash) == 1 then
    release(hash, held, released)
    if redis.call('ZCARD', held) == 0 then
      redis.call('DEL', hash, held, released)
      dropped = dropped + 1
    end
  end
end
return dropped
