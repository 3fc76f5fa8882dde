-- Move dead letters back to pending. ARGV[3] = 'all' or 'ids', then the ids.
-- 'all' is one pass over the dead letters there were when it began: the first call (ARGV[4]
-- empty) copies them aside under a pass number, and every call moves up to 1000 of that
-- copy, returning {moved, pass, taken}; the caller repeats with the pass number while
-- `taken` is 1000. A job that fails again while the pass goes on is not in the copy, so it
-- stays dead instead of being retried twice. 'ids' returns how many moved.
local ids, pass
if ARGV[3] == 'all' then
  pass = ARGV[4]
  if pass == '' then
    pass = tostring(redis.call('INCR', P .. 'seq'))
    if redis.call('ZUNIONSTORE', P .. 'retrypass:' .. pass, 1, P .. 'dead') > 0 then
      redis.call('PEXPIRE', P .. 'retrypass:' .. pass, 3600000)
    end
  end
  local copy = P .. 'retrypass:' .. pass
  ids = redis.call('ZRANGE', copy, 0, 999)
  if #ids > 0 then redis.call('ZREM', copy, unpack(ids)) end
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
      redis.call('HSET', key, 'status', 'pending', 'attempts', 0, 'stalls', 0)
      redis.call('HDEL', key, 'finished_at', 'cancel', 'scheduled_for', 'seq')
      redis.call('RPUSH', pending_key(f[2]), id)
      emit('JOB_REQUEUED', id, f[1], 'pending', '{"reason":"retry"}')
      moved = moved + 1
    end
  end
end
wake(moved)
totals({retried_dead = moved})
if pass then return {moved, pass, #ids} end
return moved
