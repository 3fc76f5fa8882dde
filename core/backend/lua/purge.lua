-- Remove up to ARGV[4] jobs of status ARGV[3]. ARGV[5] = total removed by earlier calls of
-- this purge; the last call (fewer than the limit removed) emits one JOBS_PURGED for all.
local zkey = P .. ARGV[3]
local limit, before = tonumber(ARGV[4]), tonumber(ARGV[5])
local popped = redis.call('ZPOPMIN', zkey, limit)
local removed = 0
for i = 1, #popped, 2 do
  redis.call('DEL', P .. 'job:' .. popped[i])
  removed = removed + 1
end
if removed < limit and removed + before > 0 then
  local status = ARGV[3]
  if status == 'dead' then status = 'failed' end
  emit('JOBS_PURGED', '', '', status, '{"count":' .. (removed + before) .. '}')
end
return removed
