-- Every limit with what is under it now: {limits, throttled, in use}, each a flat hash reply
-- (definition -> 'concurrency rate per_ms'; -> jobs held; -> jobs running). Bounded by the
-- most limits a queue may have (limit_set).
return {redis.call('HGETALL', P .. 'limits'), redis.call('HGETALL', P .. 'throttled'),
  redis.call('HGETALL', P .. 'linuse')}
