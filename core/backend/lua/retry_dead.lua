-- Move dead letters back to pending. ARGV[3] = request id (see replayed), ARGV[4] = 'all' or
-- 'ids'; for 'ids', the ids follow, and the reply is how many moved.
-- 'all' is one pass over the dead letters there were when it began, in steps of 500 that
-- each cost their 500 jobs (~9 ms of Redis CPU on a busy machine), however many dead letters
-- there are (nothing is copied).
-- ARGV[5] = the pass's cutoff (ms; '' on its first call), ARGV[6] = how many dead letters of
-- the pass stayed dead so far. The first call takes the time as the cutoff and also moves
-- those that died in that very millisecond; every call moves up to 500 that died before
-- the cutoff, oldest first. Returns {moved, cutoff, taken, kept}: the caller repeats with
-- the cutoff and `kept` while `taken` is 500. A job that fails again while the pass goes on
-- dies after the cutoff, so it stays dead instead of being retried twice.
-- A dead letter whose unique key another unfinished job holds now stays dead (two pending
-- jobs never share a key); one whose key is free takes it back. (workflows) A job with
-- parents goes back to waiting for them; the children that failed because of a retried job
-- wait for it again (see _workflows.lua).
local rid, mode = ARGV[3], ARGV[4]
local again = replayed(rid)
if again ~= nil then return again end
local dead = P .. 'dead'
local ids, cutoff, kept, taken = nil, nil, 0, 0
local in_step = {} -- the ids of this call that died before the cutoff
if mode == 'all' then
  kept = tonumber(ARGV[6]) or 0
  if ARGV[5] == '' then
    cutoff = NOW - 1
    ids = redis.call('ZRANGEBYSCORE', dead, NOW, NOW, 'LIMIT', 0, 500)
  else
    cutoff = tonumber(ARGV[5])
    ids = {}
  end
  local step = redis.call('ZRANGEBYSCORE', dead, '-inf', cutoff, 'LIMIT', kept, 500)
  for _, id in ipairs(step) do
    ids[#ids + 1] = id
    in_step[id] = true
  end
  taken = #step
else
  ids = {}
  for k = 5, #ARGV do ids[#ids + 1] = ARGV[k] end
end

-- Whether `id` may go back to pending: its unique key (if any) is free or its own. It takes
-- the key back, held while the job is unfinished.
local function unique_ok(id, ukey)
  if not ukey then return true end
  local holder = unique_holder(ukey)
  if holder and holder ~= id then return false end
  if not holder then redis.call('HSET', P .. 'unique:' .. ukey, 'id', id, 'until', 0) end
  return true
end

-- Per job: one read and two writes of its record and its event; the dead set and the pending
-- lists change in one command each per call.
local moved, stayed, gone, back, seen = 0, 0, {}, {}, {}
for _, id in ipairs(ids) do
  local key = P .. 'job:' .. id
  -- ids of a pass come from the set; ids given are checked against it (each once)
  if not seen[id] and (mode == 'all' or redis.call('ZSCORE', dead, id)) then
    seen[id] = true
    local f = redis.pcall('HMGET', key, 'name', 'priority', 'unique', 'group', 'feed', 'kids')
    if f.err then
      gone[#gone + 1] = id -- not a job record: out of the dead letters, left as it is
    elseif f[5] then
      -- (workflows) a job with parents waits again for those that have not completed (one
      -- that failed fails it again: retry that parent, and it comes back with it)
      if wf().revive(id, f[1], f[3], f[6], '{"reason":"retry"}') then
        moved = moved + 1
      elseif in_step[id] then
        stayed = stayed + 1
      end
    elseif not unique_ok(id, f[3]) then
      if in_step[id] then stayed = stayed + 1 end
    else
      gone[#gone + 1] = id
      if f[1] or redis.call('EXISTS', key) == 1 then
        redis.call('HSET', key, 'status', 'pending', 'attempts', 0, 'stalls', 0)
        redis.call('HDEL', key, 'finished_at', 'cancel', 'scheduled_for', 'seq', 'held',
          'expires')
        queue_for(back, lane_key(f[2], f[4]), id)
        emit('JOB_REQUEUED', id, f[1], 'pending', '{"reason":"retry"}')
        moved = moved + 1
        -- (workflows) the children that failed because of it wait for it again
        if f[6] then wf().todo[#wf().todo + 1] = 'v ' .. id .. ' 0' end
      end
    end
  end
end
call_sliced('ZREM', dead, gone)
push_queued(back, false)
if WF then WF.flush(nil, WF.run(WF.STEP)) end
wake(moved)
totals({retried_dead = moved})
if mode == 'all' then return remember(rid, {moved, cutoff, taken, kept + stayed}) end
return remember(rid, moved)
