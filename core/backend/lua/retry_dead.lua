-- Move dead letters back to pending. ARGV[3] = 'all' (up to 1000 a call) or 'ids',
-- then the ids. Returns how many moved.
local ids
if ARGV[3] == 'all' then
  ids = redis.call('ZRANGE', P .. 'dead', 0, 999)
else
  ids = {}
  for k = 4, #ARGV do ids[#ids + 1] = ARGV[k] end
end
local moved = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', P .. 'dead', id) == 1 then
    local key = P .. 'job:' .. id
    if redis.call('TYPE', key).ok == 'hash' then
      local f = redis.call('HMGET', key, 'name', 'priority')
      local seq = redis.call('INCR', P .. 'seq')
      redis.call('HSET', key, 'status', 'pending', 'attempts', 0, 'stalls', 0, 'seq', seq)
      redis.call('HDEL', key, 'finished_at', 'cancel', 'scheduled_for')
      redis.call('ZADD', P .. 'pending', pscore(f[2], seq), id)
      emit('JOB_REQUEUED', id, f[1], 'pending', '{"reason":"retry"}')
      moved = moved + 1
    end
  end
end
wake(moved)
totals({retried_dead = moved})
return moved
