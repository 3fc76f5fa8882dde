-- Record outcomes. ARGV[3] = worker id, ARGV[4] = history max, ARGV[5] = result ttl ms,
-- ARGV[6] = count, then per item: id, token, outcome, payload, delay_ms, event data.
-- An item whose token is not the job's current one is refused (0): that attempt lost its
-- lease, and another attempt owns the job now.
local history_max, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local out = {}
local done, dead, cancelled, retried, released, run_ms = 0, 0, 0, 0, 0, 0
local hist = {}
local i = 7
for j = 1, n do
  local id, token, outcome, payload = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local delay, data = tonumber(ARGV[i + 4]), ARGV[i + 5]
  i = i + 6
  local key = P .. 'job:' .. id
  local f = hash_fields(key, 'token', 'status', 'name', 'started_at', 'unique')
  if f[1] ~= token or f[2] ~= 'running' then
    out[j] = 0
  else
    out[j] = 1
    redis.call('ZREM', P .. 'running', id)
    redis.call('HDEL', key, 'token')
    local started = tonumber(f[4])
    if started then
      run_ms = run_ms + math.max(0, NOW - started * 1000)
      if outcome ~= 'release' and outcome ~= 'cancelled' then
        observe(hist, 'run', NOW - started * 1000)
      end
    end
    if outcome == 'completed' then
      redis.call('HSET', key, 'status', 'completed', 'result', payload, 'finished_at', NOW_S)
      redis.call('ZADD', P .. 'completed', NOW, id)
      if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
      done = done + 1
      release_unique(id, f[5])
      emit('JOB_COMPLETED', id, f[3], 'completed', data)
    elseif outcome == 'retry' then
      redis.call('HSET', key, 'status', 'scheduled', 'error', payload,
        'scheduled_for', fmt_s(NOW + delay))
      redis.call('ZADD', P .. 'scheduled', NOW + delay, id)
      retried = retried + 1
      emit('JOB_FAILED', id, f[3], 'scheduled', data)
    elseif outcome == 'release' then
      -- Handed back by a worker shutting down: first in line again, attempt not counted.
      local g = redis.call('HMGET', key, 'priority', 'seq')
      redis.call('HINCRBY', key, 'attempts', -1)
      redis.call('HSET', key, 'status', 'pending')
      redis.call('ZADD', P .. 'pending', pscore(g[1], g[2] or 0), id)
      released = released + 1
      emit('JOB_REQUEUED', id, f[3], 'pending', data)
    elseif outcome == 'cancelled' then
      redis.call('HSET', key, 'status', 'cancelled', 'finished_at', NOW_S)
      redis.call('ZADD', P .. 'cancelled', NOW, id)
      cancelled = cancelled + 1
      release_unique(id, f[5])
      emit('JOB_CANCELLED', id, f[3], 'cancelled', data)
    else
      redis.call('HSET', key, 'status', 'failed', 'error', payload, 'finished_at', NOW_S)
      redis.call('ZADD', P .. 'dead', NOW, id)
      dead = dead + 1
      release_unique(id, f[5])
      emit('JOB_FAILED', id, f[3], 'failed', data)
    end
  end
end
if done > 0 then trim_history(P .. 'completed', history_max, ttl) end
if cancelled > 0 then trim_history(P .. 'cancelled', history_max, 0) end
if retried > 0 then wake(1) end
wake(released)
totals({completed = done, dead = dead, cancelled = cancelled, retried = retried, requeued = released})
stat({completed = done, failed = dead + retried, run_ms = run_ms, finished = done + dead + retried})
histograms(hist)
return out
