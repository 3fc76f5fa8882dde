-- Application events from running handlers (`current_job().emit`). ARGV[3] = count, then per
-- item: job id, token, event type, data (JSON). Only the attempt holding the job's current
-- token may speak for it: a stale attempt's events are dropped. Returns how many were stored.
local n = tonumber(ARGV[3])
local stored = 0
for j = 0, n - 1 do
  local id, token = ARGV[4 + j * 4], ARGV[5 + j * 4]
  local f = hash_fields(P .. 'job:' .. id, 'token', 'name')
  if f[1] == token then
    emit(ARGV[6 + j * 4], id, f[2], '', ARGV[7 + j * 4])
    stored = stored + 1
  end
end
return stored
