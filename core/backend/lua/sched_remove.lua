-- Remove a schedule (jobs it already queued stay). ARGV[3] = name. Returns 1, or 0 if unknown.
local name = ARGV[3]
local key = P .. 'schedule:' .. name
redis.call('SREM', P .. 'schedules', name)
redis.call('ZREM', P .. 'schedules:due', name)
if redis.call('DEL', key) == 0 then return 0 end
emit('SCHEDULE_REMOVED', '', '', '', cjson.encode({schedule = name}))
return 1
