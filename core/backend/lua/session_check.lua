-- Whether a web sign-in is open: its digest (ARGV[3]) is in `sessions` and not expired
-- (see session.lua). Read-only. Returns 1 or 0.
local expires = redis.call('ZSCORE', P .. 'sessions', ARGV[3])
if expires and tonumber(expires) > NOW then return 1 end
return 0
