-- Depths, totals and the last ARGV[3] per-second buckets in one round trip (at most 900: the
-- buckets expire after that, and the call reads one hash per second of the window).
local window = math.min(tonumber(ARGV[3]), 900)
local depths = {}
depths[1] = pending_count()
for _, s in ipairs({'scheduled', 'running', 'completed', 'dead', 'cancelled', 'waiting',
    'expired'}) do
  depths[#depths + 1] = redis.call('ZCARD', P .. s)
end
local buckets = {}
for s = SEC - window + 1, SEC do
  buckets[#buckets + 1] = redis.call('HGETALL', P .. 'stat:' .. s)
end
-- The newest event these counts include (the script is atomic): a reader applying events to
-- the counts skips those at or before it, or counts them twice.
local last = redis.call('XREVRANGE', P .. 'events', '+', '-', 'COUNT', 1)
local through = '0-0'
if #last > 0 then through = last[1][1] end
-- Jobs set aside: held (throttled) by limit (bounded by the number of limits), and parked
-- by name, the 100 names with the most (the `lanen` counts give the totals).
local aside = redis.call('HMGET', P .. 'lanen', 'held', 'parked')
return {NOW_S, depths, redis.call('HGETALL', P .. 'totals'), buckets,
  redis.call('EXISTS', P .. 'paused'), redis.call('HGETALL', P .. 'hist'), through,
  redis.call('HGETALL', P .. 'throttled'), redis.call('ZREVRANGE', P .. 'parked', 0, 99, 'WITHSCORES'),
  tonumber(aside[1]) or 0, tonumber(aside[2]) or 0, redis.call('HGETALL', P .. 'names')}
