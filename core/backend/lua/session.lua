-- Sign-ins of the web surface (the dashboard's cookies), kept here so that a sign-out holds
-- in every server process and across restarts. One sorted set, `sessions`: member a
-- session's digest (never its token), score its expiry in ms. Bounded: each sign-in drops
-- the expired members, and past ARGV[6] members it ends the ones expiring first (they are
-- signed out), so the set never holds more; the key expires with its newest session.
-- ARGV[3] = 'open' or 'close'; ARGV[4] = the session's digest; 'open': ARGV[5] its lifetime
-- in ms, ARGV[6] the most sessions kept. Returns how many sessions 'open' ended to stay
-- within the bound, or 1 if 'close' ended one.
local key = P .. 'sessions'
if ARGV[3] == 'close' then
  return redis.call('ZREM', key, ARGV[4])
end
local lifetime = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', key, '-inf', NOW)
redis.call('ZADD', key, NOW + lifetime, ARGV[4])
local over = redis.call('ZCARD', key) - tonumber(ARGV[6])
if over > 0 then
  redis.call('ZPOPMIN', key, over)
else
  over = 0
end
redis.call('PEXPIRE', key, lifetime)
return over
