-- Record outcomes. ARGV[3] = worker id, ARGV[4..6] = bounds (see bounds_at), ARGV[7] =
-- result ttl ms (the queue's; a job's own 'rttl' wins), ARGV[8] = count, then per item: id, token, outcome, payload, delay_ms, event
-- data.
-- An item whose token is not the job's current one is refused (0): that attempt lost its
-- lease, and another attempt owns the job now. A retry or a hand-back of a job whose
-- cancellation was asked for while it ran ends it as cancelled instead: the request is not
-- lost to the next attempt.
local bounds, ttl = bounds_at(4), tonumber(ARGV[7])
local n = tonumber(ARGV[8])
local out = {}
local done, dead, cancelled, retried, released, run_ms, woken = 0, 0, 0, 0, 0, 0, 0
local hist, names = {}, {}
-- Removed from `running` and added to `completed` in one command each per call, not per job.
local unleased, completed = {}, {}
-- Released jobs by pending list, in the order they came: they go back to the front of it.
local front = {}
-- First pass reads only: which items hold their job's lease. The first write is then the
-- ZREM from `running`, which frees memory, so a full Redis (maxmemory, noeviction) still
-- records outcomes (it refuses only a script whose first write may grow memory).
local items, seen = {}, {}
local i = 9
for j = 1, n do
  local id, token = ARGV[i], ARGV[i + 1]
  -- pcall: a record of another type (someone else's garbage) reads as "not ours", refused.
  local f = redis.pcall('HMGET', P .. 'job:' .. id, 'token', 'status', 'name', 'started_at',
    'unique', 'cancel', 'limit', 'rttl', 'kids', 'feed')
  if f.err or f[1] ~= token or f[2] ~= 'running' or seen[id] then
    out[j] = 0
  else
    out[j] = 1
    seen[id] = true
    unleased[#unleased + 1] = id
    items[#items + 1] = {i, f}
  end
  i = i + 6
end
call_sliced('ZREM', P .. 'running', unleased)
for _, item in ipairs(items) do
  local i, f = item[1], item[2]
  local id, token, outcome, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local delay, data = tonumber(ARGV[i + 4]), ARGV[i + 5]
  local key = P .. 'job:' .. id
  -- (limits) its slot under its limit key is free again (a field the record lacks costs
  -- HMGET a scan of it: 'ldef' is read only for a job that ran under a limit)
  if f[7] then woken = woken + flow().free_slot(id, f[7], redis.call('HGET', key, 'ldef')) end
  if f[6] == '1' and (outcome == 'retry' or outcome == 'release') then
    if outcome == 'retry' then redis.call('HSET', key, 'error', payload) end
    data = '{"reason":"cancelled","instead_of":"' .. outcome .. '"}'
    outcome = 'cancelled'
  end
  do
    local started = tonumber(f[4])
    if started then
      run_ms = run_ms + math.max(0, NOW - started * 1000)
      if outcome ~= 'release' and outcome ~= 'cancelled' then
        add_to(hist, 'run', NOW - started * 1000)
      end
    end
    if outcome == 'completed' then
      redis.call('HSET', key, 'status', 'completed', 'token', '', 'result', payload,
        'finished_at', NOW_S)
      completed[#completed + 1] = NOW
      completed[#completed + 1] = id
      -- its own result ttl (submit_job(result_ttl=), whole ms) when it has one
      local keep = tonumber(f[8]) or ttl
      done = done + 1
      add_name(names, f[3], 'c')
      release_unique(id, f[5])
      emit('JOB_COMPLETED', id, f[3], 'completed', data)
      if f[9] then
        -- (workflows) its result stays for its children while they may read it (`res:`)
        redis.call('HSET', P .. 'res:' .. id, 'r', payload, '#walk', '1')
        if keep > 0 then redis.call('PEXPIRE', P .. 'ch:' .. id, keep) end
      end
      -- (workflows) a long parent list copied by a later step keeps its record till then
      local later = (f[9] or f[10]) and wf().ended(id, 'completed', f[9], f[10], nil, nil, keep)
      if keep > 0 and not later then redis.call('PEXPIRE', key, keep) end
    elseif outcome == 'retry' then
      redis.call('HSET', key, 'status', 'scheduled', 'token', '', 'error', payload,
        'scheduled_for', fmt_s(NOW + delay))
      redis.call('ZADD', P .. 'scheduled', NOW + delay, id)
      retried = retried + 1
      add_name(names, f[3], 'f')
      emit('JOB_FAILED', id, f[3], 'scheduled', data)
    elseif outcome == 'release' then
      -- Handed back by a worker shutting down: first in line again, attempt not counted.
      local home = lane_key(unpack(redis.call('HMGET', key, 'priority', 'group')))
      redis.call('HINCRBY', key, 'attempts', -1)
      redis.call('HSET', key, 'status', 'pending', 'token', '')
      queue_for(front, home, id)
      released = released + 1
      emit('JOB_REQUEUED', id, f[3], 'pending', data)
    elseif outcome == 'cancelled' then
      redis.call('HSET', key, 'status', 'cancelled', 'token', '', 'finished_at', NOW_S)
      redis.call('ZADD', P .. 'cancelled', NOW, id)
      cancelled = cancelled + 1
      release_unique(id, f[5])
      emit('JOB_CANCELLED', id, f[3], 'cancelled', data)
      if f[9] or f[10] then wf().ended(id, 'cancelled', f[9], f[10], nil) end
    else
      redis.call('HSET', key, 'status', 'failed', 'token', '', 'error', payload,
        'finished_at', NOW_S)
      redis.call('ZADD', P .. 'dead', NOW, id)
      dead = dead + 1
      add_name(names, f[3], 'f')
      release_unique(id, f[5])
      emit('JOB_FAILED', id, f[3], 'failed', data)
      if f[9] or f[10] then wf().ended(id, 'failed', f[9], f[10], nil) end
    end
  end
end
if done > 0 then
  call_sliced('ZADD', P .. 'completed', completed)
  trim_history(P .. 'completed', bounds.history, ttl)
end
if cancelled > 0 then trim_history(P .. 'cancelled', bounds.history, 0) end
if dead > 0 then trim_dead(bounds) end
push_queued(front, true)
if retried > 0 then wake(1) end
wake(released + woken)
totals({completed = done, dead = dead, cancelled = cancelled, retried = retried, requeued = released})
stat({completed = done, failed = dead + retried, run_ms = run_ms, finished = done + dead + retried})
histograms(hist)
count_names(names)
-- (workflows) the children of the jobs that ended, resolved here up to the bound
if WF then WF.flush(bounds, WF.run(WF.STEP)) end
return out
