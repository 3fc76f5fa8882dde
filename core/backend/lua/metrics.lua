-- Depths, totals and the last ARGV[3] per-second buckets in one round trip.
local window = tonumber(ARGV[3])
local depths = {}
for _, s in ipairs({'pending', 'scheduled', 'running', 'completed', 'dead', 'cancelled'}) do
  depths[#depths + 1] = redis.call('ZCARD', P .. s)
end
local buckets = {}
for s = SEC - window + 1, SEC do
  buckets[#buckets + 1] = redis.call('HGETALL', P .. 'stat:' .. s)
end
return {NOW_S, depths, redis.call('HGETALL', P .. 'totals'), buckets,
  redis.call('EXISTS', P .. 'paused'), redis.call('HGETALL', P .. 'hist')}
