-- Live workers: {id, json, ...}. ARGV[3] = worker ttl ms; stale entries are skipped (the
-- heartbeat script drops them): this script is read-only, run by EVALSHA_RO.
local ttl = tonumber(ARGV[3])
local out = {}
for _, wid in ipairs(redis.call('ZRANGEBYSCORE', P .. 'workers', NOW - ttl, '+inf', 'WITHSCORES')) do
  out[#out + 1] = wid
end
local result = {NOW_S}
for i = 1, #out, 2 do
  local info = redis.call('GET', P .. 'worker:' .. out[i])
  if info then
    result[#result + 1] = out[i]
    result[#result + 1] = info
    result[#result + 1] = out[i + 1]
  end
end
return result
