-- ARGV[3] = worker id, ARGV[4] = worker json, ARGV[5] = worker ttl ms, ARGV[6] = lease ms,
-- ARGV[7] = max stalls, ARGV[8..10] = bounds (see bounds_at), ARGV[11] = count, then (id,
-- token) pairs this worker holds. Returns {lost ids, cancel-requested ids}.
-- Every heartbeat also drops dead letters past their age bound: a queue where nothing fails
-- any more still lets its old dead letters go.
local wid, info, ttl, lease = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local max_stalls, bounds, n = tonumber(ARGV[7]), bounds_at(8), tonumber(ARGV[11])
-- A full Redis (maxmemory, noeviction) refuses a script's first write if that write may
-- grow memory; once a script has written, it runs to the end. So the first write here is one
-- that only frees memory: a heartbeat must go through when Redis is full, or leases lapse
-- while claims and completions still succeed, and long jobs run two or three times at once.
redis.call('ZREMRANGEBYSCORE', P .. 'workers', '-inf', NOW - ttl)
redis.call('SET', P .. 'worker:' .. wid, info, 'PX', ttl)
redis.call('ZADD', P .. 'workers', NOW, wid)
local lost, cancel = {}, {}
local i = 12
for j = 1, n do
  local id, token = ARGV[i], ARGV[i + 1]
  i = i + 2
  local key = P .. 'job:' .. id
  local f = hash_fields(key, 'token', 'cancel')
  if f[1] == token then
    redis.call('ZADD', P .. 'running', 'XX', NOW + lease, id)
    if f[2] == '1' then cancel[#cancel + 1] = id end
  else
    lost[#lost + 1] = id
  end
end
local _, stalled_out = recover(100, max_stalls, bounds)
if stalled_out then
  for _, e in ipairs(stalled_out) do wf().ended(e[1], e[2], e[3], e[4], nil, e[5]) end
end
-- (workflows) Every heartbeat also sweeps jobs whose `expires` passed and advances the work
-- list, bounded, so counts are right within a heartbeat even when no claim comes.
if WF or redis.call('EXISTS', P .. 'wf', P .. 'exp') > 0 then
  local W = wf()
  W.sweep(200)
  W.flush(bounds, W.run(W.STEP))
end
trim_dead(bounds)
return {lost, cancel}
