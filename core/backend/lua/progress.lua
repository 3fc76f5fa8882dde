-- Progress reports. ARGV[3] = count, then per item: id, token, progress json, event data.
local n = tonumber(ARGV[3])
local i = 4
for j = 1, n do
  local id, token, progress, data = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  i = i + 4
  local key = P .. 'job:' .. id
  local f = hash_fields(key, 'token', 'name')
  if f[1] == token then
    redis.call('HSET', key, 'progress', progress)
    emit('JOB_PROGRESS', id, f[2], 'running', data)
  end
end
return n
