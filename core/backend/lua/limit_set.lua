-- Set (ARGV[4] = 'concurrency rate per_ms') or remove (ARGV[4] = '') the limit ARGV[3]: a key,
-- a template ('user:*') or '*'. ARGV[5] = the most limits a queue may have, ARGV[6] = the
-- event's data. Jobs held under it are looked at again now, by the next claim: the first
-- thousand keys it covers are woken here, the rest by limit_wake (the caller goes on while a
-- thousand came back). Returns {1 if the limit existed, keys woken, the last key woken}, or
-- {-1} when a new limit would pass the most a queue may have (nothing written).
local def, value, most = ARGV[3], ARGV[4], tonumber(ARGV[5])
local existed = redis.call('HEXISTS', P .. 'limits', def)
if value == '' then
  if existed == 0 then return {0, 0, ''} end
  redis.call('HDEL', P .. 'limits', def)
else
  if existed == 0 and redis.call('HLEN', P .. 'limits') >= most then return {-1} end
  redis.call('HSET', P .. 'limits', def, value)
end
emit('LIMIT_CHANGED', '', '', '', ARGV[6])
local woken, last = wake_held(def, '')
return {existed, woken, last}
