-- Deliver ARGV[4] to worker ARGV[3] ('*': every live worker). ARGV[5] = worker ttl ms.
local target, message, ttl = ARGV[3], ARGV[4], tonumber(ARGV[5])
local live = redis.call('ZRANGEBYSCORE', P .. 'workers', NOW - ttl, '+inf')
local sent = 0
for _, wid in ipairs(live) do
  if target == '*' or target == wid then
    local ckey = P .. 'control:' .. wid
    redis.call('RPUSH', ckey, message)
    redis.call('PEXPIRE', ckey, 60000)
    sent = sent + 1
  end
end
return sent
