-- The schedules due now. ARGV[3] = limit. Returns {now ms, next due ms after now or -1,
-- name, definition, due ms, ...}. Server time decides, so schedulers on machines whose
-- clocks disagree still agree on what is due.
local due = P .. 'schedules:due'
local rows = redis.call('ZRANGEBYSCORE', due, '-inf', NOW, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
local later = redis.call('ZRANGEBYSCORE', due, '(' .. NOW, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
local out = {NOW, later[2] or -1}
for i = 1, #rows, 2 do
  local def = hash_fields(P .. 'schedule:' .. rows[i], 'def')[1]
  out[#out + 1] = rows[i]
  out[#out + 1] = def or ''
  out[#out + 1] = rows[i + 1]
end
return out
