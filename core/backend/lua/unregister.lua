-- A worker leaving cleanly. ARGV[3] = worker id.
redis.call('ZREM', P .. 'workers', ARGV[3])
redis.call('DEL', P .. 'worker:' .. ARGV[3], P .. 'control:' .. ARGV[3])
return 1
