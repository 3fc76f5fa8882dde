-- Submit a batch. ARGV[3] = count, then per job: id, name, priority, delay_ms, nfields, fields.
-- An id that exists already is skipped (explicit ids make submission idempotent).
-- Sequence numbers for the whole batch are reserved with one INCRBY (a skipped id leaves a
-- gap, which only FIFO order reads, and gaps keep it).
local n = tonumber(ARGV[3])
local i = 4
local out = {}
local ready, delayed = 0, 0
local seq = redis.call('INCRBY', P .. 'seq', n) - n
local pending, scheduled = P .. 'pending', P .. 'scheduled'
for j = 1, n do
  local id, name, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local delay = tonumber(ARGV[i + 3])
  local nf = tonumber(ARGV[i + 4])
  local key = P .. 'job:' .. id
  seq = seq + 1
  if redis.call('EXISTS', key) == 1 then
    out[j] = 0
  else
    local status
    if delay > 0 then
      status = 'scheduled'
      redis.call('HSET', key, 'created_at', NOW_S, 'seq', seq, 'scheduled_for',
        fmt_s(NOW + delay), unpack(ARGV, i + 5, i + 4 + nf))
      redis.call('ZADD', scheduled, NOW + delay, id)
      delayed = delayed + 1
    else
      status = 'pending'
      redis.call('HSET', key, 'created_at', NOW_S, 'seq', seq,
        unpack(ARGV, i + 5, i + 4 + nf))
      redis.call('ZADD', pending, pscore(prio, seq), id)
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
