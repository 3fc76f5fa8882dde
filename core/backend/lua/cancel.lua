-- Cancel ARGV[3]. Pending or scheduled: cancelled now. Running: flag it and tell its worker.
-- Returns the status the job had, or false.
local id = ARGV[3]
local key = P .. 'job:' .. id
if redis.call('TYPE', key).ok ~= 'hash' then return false end
local f = redis.call('HMGET', key, 'status', 'name', 'worker', 'unique', 'priority')
local status = f[1] or 'pending' -- a job is stored without a status while it waits
if status == 'pending' or status == 'scheduled' then
  local removed
  if status == 'pending' then
    removed = remove_pending(id, f[5])
  else
    removed = redis.call('ZREM', P .. status, id) == 1
  end
  if not removed then return false end
  redis.call('HSET', key, 'status', 'cancelled', 'finished_at', NOW_S)
  redis.call('ZADD', P .. 'cancelled', NOW, id)
  release_unique(id, f[4])
  redis.call('HINCRBY', P .. 'totals', 'cancelled', 1)
  emit('JOB_CANCELLED', id, f[2], 'cancelled', '{"was":"' .. status .. '"}')
  return status
elseif status == 'running' then
  redis.call('HSET', key, 'cancel', '1')
  if f[3] then
    local ckey = P .. 'control:' .. f[3]
    redis.call('RPUSH', ckey, cjson.encode({op = 'cancel', job_id = id}))
    redis.call('PEXPIRE', ckey, 60000)
  end
  return status
end
return false
