-- Remove up to ARGV[4] jobs of status ARGV[3]. ARGV[5] = total removed by earlier calls of
-- this purge; the last call (fewer than the limit removed) emits one JOBS_PURGED for all.
-- A purged job's unique key is freed (see release_unique) with it. Entries of cancelled jobs
-- still in the pending lists (see stale_entry) are cleared without counting: those jobs
-- belong to the cancelled history.
local limit, before = tonumber(ARGV[4]), tonumber(ARGV[5])
local removed, taken = 0, 0
local function remove(id, pending)
  local key = P .. 'job:' .. id
  local f = hash_fields(key, 'unique', 'status', 'kids', 'feed', 'expires', 'gen')
  taken = taken + 1
  if pending and stale_entry(id, f[2], redis.call('EXISTS', key) == 1) then
    drop_stale(id)
    return
  end
  release_unique(id, f[1])
  -- (workflows) an unfinished job purged is gone for its children (cancelled, unless they
  -- run on parent failure), and lets go of its parents' results; a finished one did both
  -- when it ended
  local st = f[2] or 'pending'
  local later = false
  if (f[3] or f[4] or f[5]) and (st == 'pending' or st == 'scheduled' or st == 'waiting') then
    later = wf().ended(id, 'gone', f[3], f[4], f[5], f[6])
  end
  if later then -- its long parent list is let go by a later step, from this copy
    redis.call('RENAME', key, P .. 'ug:' .. id)
    redis.call('DEL', P .. 'ch:' .. id)
  else
    redis.call('DEL', key, P .. 'ch:' .. id)
  end
  removed = removed + 1
end
-- Pending jobs in side lanes too: each priority's groups, then held and parked jobs, one
-- lane at a time (the first in its index), their counts kept.
local function purge_lanes()
  for p = 3, 0, -1 do
    local rot = P .. 'gr:' .. p
    while taken < limit do
      local g = redis.call('LINDEX', rot, 0)
      if not g then break end
      if g ~= '' then
        local lane = P .. 'gq:' .. p .. ':' .. g
        local ids = redis.call('LPOP', lane, limit - taken) or {}
        for _, id in ipairs(ids) do remove(id, true) end
        lane_count('g' .. p, -#ids)
        if redis.call('EXISTS', lane) == 1 then break end
      end
      redis.call('LPOP', rot)
      if redis.call('LLEN', rot) == 1 and redis.call('LINDEX', rot, 0) == '' then
        redis.call('DEL', rot)
      end
    end
  end
  for _, kind in ipairs({'held', 'parked'}) do
    while taken < limit do
      local first = redis.call('ZRANGE', P .. kind, 0, 0)[1]
      if not first then break end
      local lane = P .. (kind == 'held' and 'hq:' or 'pq:') .. first
      local got = redis.call('ZPOPMIN', lane, limit - taken)
      for k = 1, #got, 2 do
        if kind == 'held' then
          flow().unhold(got[k], hash_fields(P .. 'job:' .. got[k], 'held')[1])
        else
          flow().unpark(first)
        end
        remove(got[k], true)
      end
      if redis.call('EXISTS', lane) == 1 then break end
      redis.call('ZREM', P .. kind, first)
      if kind == 'held' then redis.call('ZREM', P .. 'heldx', first) end
    end
  end
end

if ARGV[3] == 'pending' then
  if legacy_pending() then
    local scored = redis.call('ZPOPMIN', P .. 'pending', limit)
    for k = 1, #scored, 2 do remove(scored[k], true) end
  end
  for p = 3, 0, -1 do
    if taken >= limit then break end
    for _, id in ipairs(redis.call('LPOP', P .. 'pending:' .. p, limit - taken) or {}) do
      remove(id, true)
    end
  end
  if taken < limit then purge_lanes() end
else
  local popped = redis.call('ZPOPMIN', P .. ARGV[3], limit)
  for i = 1, #popped, 2 do remove(popped[i], false) end
end
if WF then WF.flush(nil, WF.run(WF.STEP)) end
if taken < limit and removed + before > 0 then
  local status = ARGV[3]
  if status == 'dead' then status = 'failed' end
  emit('JOBS_PURGED', '', '', status, '{"count":' .. (removed + before) .. '}')
end
return {removed, taken}
