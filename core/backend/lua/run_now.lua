-- Run the scheduled job ARGV[3] now: a delayed job, or one waiting out its retry delay, goes
-- to the back of its priority's pending list (or its group's lane) at once, as if it had come due, and is ready
-- from now on (its `scheduled_for`). JOB_REQUEUED with reason run_now. Returns 1, or 0 if it
-- is not scheduled (no such job, or it has already left: run, cancelled, come due).
local id = ARGV[3]
local key = P .. 'job:' .. id
local f = hash_fields(key, 'status', 'name', 'priority', 'group')
if f[1] ~= 'scheduled' or redis.call('ZREM', P .. 'scheduled', id) == 0 then return 0 end
redis.call('HSET', key, 'status', 'pending', 'scheduled_for', NOW_S)
push_pending(lane_key(f[3], f[4]), {id}, false)
wake(1)
emit('JOB_REQUEUED', id, f[2], 'pending', '{"reason":"run_now"}')
return 1
