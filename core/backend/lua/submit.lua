-- Submit a batch. ARGV[3] = count, then per job: id, name, priority, delay_ms, unique key
-- ('' for none), unique window ms, group ('' for none), workflow ('' here: a batch with a job
-- that has parents or an expiry goes to submit_flow.lua), nfields, fields.
-- An id that exists already is skipped (explicit ids make submission idempotent): 0. A job
-- whose unique key is held by another job is not created: the holder's id is returned.
local n = tonumber(ARGV[3])
local i = 4
local out = {}
local ready, delayed = 0, 0
local scheduled = P .. 'scheduled'
-- Ready jobs enter their priority's pending list (or their group's lane) in one RPUSH at the
-- end, not one command per job: ids by list, in submission order.
local queued = {}
for j = 1, n do
  local id, name, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local delay = tonumber(ARGV[i + 3])
  local ukey, window, group = ARGV[i + 4], tonumber(ARGV[i + 5]), ARGV[i + 6]
  local nf = tonumber(ARGV[i + 8])
  local key = P .. 'job:' .. id
  local holder = ukey ~= '' and unique_holder(ukey)
  if redis.call('EXISTS', key) == 1 then
    out[j] = 0
  elseif holder then
    out[j] = holder
  else
    local status
    if delay > 0 then
      status = 'scheduled'
      redis.call('HSET', key, 'created_at', NOW_S, 'scheduled_for',
        fmt_s(NOW + delay), unpack(ARGV, i + 9, i + 8 + nf))
      redis.call('ZADD', scheduled, NOW + delay, id)
      delayed = delayed + 1
    else
      status = 'pending'
      redis.call('HSET', key, 'created_at', NOW_S, unpack(ARGV, i + 9, i + 8 + nf))
      queue_for(queued, lane_key(prio, group), id)
      ready = ready + 1
    end
    if ukey ~= '' then
      local lk = P .. 'unique:' .. ukey
      redis.call('DEL', lk)
      redis.call('HSET', lk, 'id', id, 'until', window > 0 and NOW + window or 0)
      redis.call('HSET', key, 'unique', ukey)
    end
    -- The common case (normal priority, no delay) stores no payload: Event.from_fields reads
    -- an empty JOB_SUBMITTED payload as {"priority": 1, "delay": 0} (~25 bytes less per job).
    local data = ''
    if prio ~= '1' or delay ~= 0 then
      data = '{"priority":' .. prio .. ',"delay":' .. delay / 1000 .. '}'
    end
    emit('JOB_SUBMITTED', id, name, status, data)
    out[j] = 1
  end
  i = i + 9 + nf
end
push_queued(queued, false)
if delayed > 0 then wake(1) end
wake(ready)
totals({submitted = ready + delayed})
stat({submitted = ready + delayed})
return out
