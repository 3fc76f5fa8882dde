-- Delete one finished job, ARGV[3]: completed, failed (a dead letter), cancelled or expired; with
-- ARGV[4] (a status), only a job in that status. Its record
-- and its place in its status's index go; a JOBS_PURGED of count 1 under its id says so (the
-- console and dashboard count it as a purge of one). Returns the status it had, or false
-- (no such job, or it has not finished: cancel it first).
local id = ARGV[3]
local key = P .. 'job:' .. id
if redis.call('TYPE', key).ok ~= 'hash' then return false end
local f = redis.call('HMGET', key, 'status', 'name')
local index = ({completed = 'completed', failed = 'dead', cancelled = 'cancelled',
  expired = 'expired'})[f[1]]
if not index or (ARGV[4] ~= '' and ARGV[4] ~= f[1]) then return false end
redis.call('ZREM', P .. index, id)
redis.call('DEL', key, P .. 'ch:' .. id)
emit('JOBS_PURGED', id, f[2], f[1], '{"count":1}')
return f[1]
