-- Schedules with their state. ARGV[3] = one name, or '' for all. Returns {name, fields,
-- next due ms or '', last job's status or '', ...}.
local names
if ARGV[3] ~= '' then names = {ARGV[3]} else names = redis.call('SMEMBERS', P .. 'schedules') end
table.sort(names)
local out = {}
for _, name in ipairs(names) do
  local key = P .. 'schedule:' .. name
  if redis.call('TYPE', key).ok == 'hash' then
    local last = redis.call('HGET', key, 'last_job')
    local status = last and job_status(last)
    out[#out + 1] = name
    out[#out + 1] = redis.call('HGETALL', key)
    out[#out + 1] = redis.call('ZSCORE', P .. 'schedules:due', name) or ''
    out[#out + 1] = status or ''
  end
end
return out
