-- (workflows) The results of job ARGV[3]'s parents, for its worker: from byte ARGV[4] of its
-- parent list, at most ARGV[5] parents and about PAGE_BYTES of results per call. A parent's
-- result is read from what is kept for its children (`res:<id>`), else from its record.
-- Returns {next byte (0: the list ended), id, status, result, id, status, result, ...}:
-- status '' for a parent with no record left, result false for none.
local id, pos, count = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local after = redis.pcall('HGET', P .. 'job:' .. id, 'after')
if type(after) ~= 'string' then return {0} end
local out, left = {0}, PAGE_BYTES
while count > 0 and left > 0 do
  local s, e = string.find(after, '%S+', pos)
  if not s then
    pos = 0
    break
  end
  pos = e + 1
  count = count - 1
  local pid = string.sub(after, s, e)
  local f = redis.pcall('HMGET', P .. 'job:' .. pid, 'status', 'created_at', 'result')
  local status, result = '', false
  if not f.err then
    status = f[1] or (f[2] and 'pending') or ''
    if status == 'completed' then result = f[3] end
  end
  local kept = redis.pcall('HGET', P .. 'res:' .. pid, 'r')
  if type(kept) == 'string' then
    result = kept
    if status == '' then status = 'completed' end
  end
  out[#out + 1] = pid
  out[#out + 1] = status
  out[#out + 1] = result
  if result then left = left - #result end
end
if pos ~= 0 and not string.find(after, '%S', pos) then pos = 0 end
out[1] = pos
return out
