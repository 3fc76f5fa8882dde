-- Pause ('1') or resume ('0') a schedule. ARGV[3] = name, ARGV[4] = '1'/'0', ARGV[5] = next
-- due (ms) on resume: ticks that passed while paused do not run. Returns -1 for an unknown
-- schedule, 0 if it already was in that state, 1 if changed.
local name, pause = ARGV[3], ARGV[4] == '1'
local key = P .. 'schedule:' .. name
if redis.call('TYPE', key).ok ~= 'hash' then return -1 end
local f = redis.call('HMGET', key, 'paused', 'def')
local okd, d = pcall(cjson.decode, f[2] or '')
local jname = okd and type(d) == 'table' and type(d.job) == 'string' and d.job or ''
if (f[1] == '1') == pause then return 0 end
if pause then
  redis.call('HSET', key, 'paused', '1')
  redis.call('ZREM', P .. 'schedules:due', name)
  emit('SCHEDULE_PAUSED', '', jname, '', cjson.encode({schedule = name}))
else
  redis.call('HSET', key, 'paused', '0')
  redis.call('ZADD', P .. 'schedules:due', ARGV[5], name)
  emit('SCHEDULE_RESUMED', '', jname, '', cjson.encode({schedule = name}))
end
return 1
