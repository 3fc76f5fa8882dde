-- Fire schedules and move them on, atomically. ARGV[3] = count, then per item: name,
-- expected due (ms; '' for a manual trigger, which neither checks nor moves the fire time),
-- next due (ms), tick (ms), job id ('' when the tick is skipped), job name, priority,
-- missed ticks, nfields, fields.
-- An item is refused (0) unless the schedule is still due at `expected`: of several
-- schedulers that saw the same tick, the first fires it and moves the time on, and the others
-- find the time moved and do nothing. The job id derives from the schedule and the tick, so
-- even a repeated fire cannot queue a tick twice. Schedule events carry no status: they move
-- no job from one state to another (the job's own JOB_SUBMITTED does).
local n = tonumber(ARGV[3])
local due = P .. 'schedules:due'
local i, out, ready = 4, {}, 0
for j = 1, n do
  local name, expected, next_ms, tick = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local id, jname, prio, missed = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], tonumber(ARGV[i + 7])
  local nf = tonumber(ARGV[i + 8])
  local key = P .. 'schedule:' .. name
  local ok = redis.call('TYPE', key).ok == 'hash'
  if ok and expected ~= '' then
    local score = redis.call('ZSCORE', due, name)
    ok = score and tonumber(score) == tonumber(expected)
  end
  if not ok then
    out[j] = 0
  else
    local data = {schedule = name, tick = tonumber(tick) / 1000, missed = missed,
      manual = expected == ''}
    if id ~= '' then
      local jkey = P .. 'job:' .. id
      if redis.call('EXISTS', jkey) == 0 then
        redis.call('HSET', jkey, 'created_at', NOW_S, unpack(ARGV, i + 9, i + 8 + nf))
        push_pending(pending_key(prio), {id}, false)
        emit('JOB_SUBMITTED', id, jname, 'pending', '{"priority":' .. prio .. ',"delay":0}')
        ready = ready + 1
      end
      redis.call('HSET', key, 'last_fire', tick, 'last_job', id)
      emit('SCHEDULE_FIRED', id, jname, '', cjson.encode(data))
    else
      emit('SCHEDULE_SKIPPED', '', jname, '', cjson.encode(data))
    end
    if expected ~= '' then redis.call('ZADD', due, next_ms, name) end
    out[j] = 1
  end
  i = i + 9 + nf
end
wake(ready)
totals({submitted = ready})
stat({submitted = ready})
return out
