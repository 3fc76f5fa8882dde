-- Submit a batch. ARGV[3] = count, then per job: id, name, priority, delay_ms, nfields, fields.
-- An id that exists already is skipped (explicit ids make submission idempotent).
local n = tonumber(ARGV[3])
local i = 4
local out = {}
local ready, delayed = 0, 0
for j = 1, n do
  local id, name, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local delay = tonumber(ARGV[i + 3])
  local nf = tonumber(ARGV[i + 4])
  local key = P .. 'job:' .. id
  if redis.call('EXISTS', key) == 1 then
    out[j] = 0
  else
    local seq = redis.call('INCR', P .. 'seq')
    local fields = {}
    for k = i + 5, i + 4 + nf do fields[#fields + 1] = ARGV[k] end
    redis.call('HSET', key, 'created_at', NOW_S, 'seq', seq, unpack(fields))
    local status = 'pending'
    if delay > 0 then
      status = 'scheduled'
      redis.call('HSET', key, 'status', status, 'scheduled_for', fmt_s(NOW + delay))
      redis.call('ZADD', P .. 'scheduled', NOW + delay, id)
      delayed = delayed + 1
    else
      redis.call('HSET', key, 'status', status)
      redis.call('ZADD', P .. 'pending', pscore(prio, seq), id)
      ready = ready + 1
    end
    emit('JOB_SUBMITTED', id, name, status, '{"priority":' .. prio .. ',"delay":' .. delay / 1000 .. '}')
    out[j] = 1
  end
  i = i + 5 + nf
end
if delayed > 0 then wake(1) end
wake(ready)
totals({submitted = ready + delayed})
stat({submitted = ready + delayed})
return out
