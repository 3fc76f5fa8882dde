-- Cancel ARGV[3]. ARGV[4] = cancelled jobs kept (the history bound), ARGV[5] = request id
-- (see replayed). Pending, scheduled or waiting: cancelled now. Running: flag it and tell its
-- worker.
-- Returns the status the job had, or false.
local id, history_max, rid = ARGV[3], tonumber(ARGV[4]), ARGV[5]
local again = replayed(rid)
if again ~= nil then return again end
local key = P .. 'job:' .. id
if redis.call('TYPE', key).ok ~= 'hash' then return remember(rid, false) end
local f = redis.call('HMGET', key, 'status', 'name', 'worker', 'unique', 'limit', 'held',
  'kids', 'feed', 'expires', 'gen')
local status = f[1] or 'pending' -- a job is stored without a status while it waits
if status == 'pending' or status == 'scheduled' or status == 'waiting' then
  if status == 'pending' then
    -- O(1) at any depth: the id keeps its place in its pending list, and the claim that pops
    -- it drops it (stale_entry); `ghosts` counts it until then. A job set aside (held,
    -- parked) leaves its sorted set now.
    if not flow().take_aside(id, f[2], f[5], f[6]) then redis.call('SADD', P .. 'ghosts', id) end
  elseif redis.call('ZREM', P .. status, id) == 0 then
    return remember(rid, false)
  end
  redis.call('HSET', key, 'status', 'cancelled', 'finished_at', NOW_S)
  redis.call('ZADD', P .. 'cancelled', NOW, id)
  release_unique(id, f[4])
  redis.call('HINCRBY', P .. 'totals', 'cancelled', 1)
  emit('JOB_CANCELLED', id, f[2], 'cancelled', '{"was":"' .. status .. '"}')
  trim_history(P .. 'cancelled', history_max, 0)
  -- (workflows) its children follow (cancelled, unless they run on parent failure), up to
  -- the bound here, the rest in steps from the work list
  if f[7] or f[8] or f[9] then
    local W = wf()
    W.ended(id, 'cancelled', f[7], f[8], f[9], f[10])
    W.flush({history = history_max, dead = nil}, W.run(W.STEP))
  end
  return remember(rid, status)
elseif status == 'running' then
  redis.call('HSET', key, 'cancel', '1')
  if f[3] then send_control(f[3], cjson.encode({op = 'cancel', job_id = id})) end
  return remember(rid, status)
end
return remember(rid, false)
