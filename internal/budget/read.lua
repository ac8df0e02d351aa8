-- Read: a scope's figures, after releasing its expired reservations.
--
-- KEYS[1..3]  hash, held and released of the scope (see prelude.lua)
-- Returns {} when the scope is not loaded, else {spent, reserved}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
release(KEYS[1], KEYS[2], KEYS[3])
local f = redis.call('HMGET', KEYS[1], 'spent', 'reserved')
return {f[1] or '0', f[2] or '0'}
