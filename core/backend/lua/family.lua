-- (workflows) Job ARGV[3]'s parents and children with their statuses, for views: the first
-- ARGV[4] of each, and how many there are. Returns {parents total, {id, status, ...},
-- children total, {id, status, ...}}; status '' for a job whose record is gone.
local id, limit = ARGV[3], tonumber(ARGV[4])
local function status(jid)
  local f = redis.pcall('HMGET', P .. 'job:' .. jid, 'status', 'created_at')
  if f.err then return '' end
  return f[1] or (f[2] and 'pending') or ''
end
local after = redis.pcall('HGET', P .. 'job:' .. id, 'after')
local parents, np = {}, 0
if type(after) == 'string' then
  for pid in string.gmatch(after, '%S+') do
    np = np + 1
    if np <= limit then
      parents[#parents + 1] = pid
      parents[#parents + 1] = status(pid)
    end
  end
end
local children = {}
local ckey = P .. 'ch:' .. id
local nc = 0
if redis.call('TYPE', ckey).ok == 'list' then
  nc = redis.call('LLEN', ckey)
  for _, cid in ipairs(redis.call('LRANGE', ckey, 0, limit - 1)) do
    children[#children + 1] = cid
    children[#children + 1] = status(cid)
  end
end
return {np, parents, nc, children}
