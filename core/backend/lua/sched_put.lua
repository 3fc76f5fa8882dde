-- Declare or change a schedule. ARGV[3] = name, ARGV[4] = definition (JSON), ARGV[5] = timing
-- (what decides fire times), ARGV[6] = first fire (ms), ARGV[7] = job name.
-- Idempotent: every process that declares the same schedule at start-up changes nothing.
-- A changed definition is stored; its fire time moves only if its timing changed, and a
-- paused schedule stays paused. Returns 1 created, 2 changed, 0 unchanged.
local name, def, timing, first = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local key, due = P .. 'schedule:' .. name, P .. 'schedules:due'
local data = cjson.encode({schedule = name})
if redis.call('TYPE', key).ok ~= 'hash' then
  redis.call('DEL', key)
  redis.call('HSET', key, 'def', def, 'timing', timing, 'paused', '0', 'created_at', NOW_S)
  redis.call('SADD', P .. 'schedules', name)
  redis.call('ZADD', due, first, name)
  emit('SCHEDULE_ADDED', '', ARGV[7], '', data)
  return 1
end
local f = redis.call('HMGET', key, 'def', 'timing', 'paused')
if f[1] == def and f[2] == timing then return 0 end
redis.call('HSET', key, 'def', def, 'timing', timing)
if f[2] ~= timing and f[3] ~= '1' then redis.call('ZADD', due, first, name) end
emit('SCHEDULE_UPDATED', '', ARGV[7], '', data)
return 2
