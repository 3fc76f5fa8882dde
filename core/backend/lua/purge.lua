-- Remove up to ARGV[4] jobs of status ARGV[3]. ARGV[5] = total removed by earlier calls of
-- this purge; the last call (fewer than the limit removed) emits one JOBS_PURGED for all.
local limit, before = tonumber(ARGV[4]), tonumber(ARGV[5])
local removed = 0
local function remove(id)
  redis.call('DEL', P .. 'job:' .. id)
  removed = removed + 1
end
if ARGV[3] == 'pending' then
  for p = 3, 0, -1 do
    if removed >= limit then break end
    for _, id in ipairs(redis.call('LPOP', P .. 'pending:' .. p, limit - removed) or {}) do
      remove(id)
    end
  end
else
  local popped = redis.call('ZPOPMIN', P .. ARGV[3], limit)
  for i = 1, #popped, 2 do remove(popped[i]) end
end
if removed < limit and removed + before > 0 then
  local status = ARGV[3]
  if status == 'dead' then status = 'failed' end
  emit('JOBS_PURGED', '', '', status, '{"count":' .. (removed + before) .. '}')
end
return removed
