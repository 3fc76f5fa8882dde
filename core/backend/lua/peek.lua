-- One job's fields. ARGV[3] = job id, ARGV[4] = the largest value to read in bytes: 0 reads
-- the whole record (a read of one job, bounded by that job's own size); over 0, values over
-- it are left out and PAGE_BYTES are read in all (see page_fields). Returns false for no
-- record, or an empty list for a key that is not a hash.
local key = P .. 'job:' .. ARGV[3]
local kind = redis.call('TYPE', key).ok
if kind == 'none' then return false end
if kind ~= 'hash' then return {} end
local cap = tonumber(ARGV[4]) or 0
if cap <= 0 then return redis.call('HGETALL', key) end
return page_fields(key, cap, {left = PAGE_BYTES})
