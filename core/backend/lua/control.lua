-- Deliver ARGV[4] to worker ARGV[3] ('*': every live worker). ARGV[5] = worker ttl ms,
-- ARGV[6] = request id (see replayed: a "scale by +1" sent again after a lost reply must not
-- be delivered twice). Returns how many workers got it.
local target, message, ttl, rid = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local again = replayed(rid)
if again ~= nil then return again end
local live = redis.call('ZRANGEBYSCORE', P .. 'workers', NOW - ttl, '+inf')
local sent = 0
for _, wid in ipairs(live) do
  if target == '*' or target == wid then
    send_control(wid, message)
    sent = sent + 1
  end
end
return remember(rid, sent)
