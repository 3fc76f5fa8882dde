-- One job's fields, values over ARGV[4] bytes left out, and PAGE_BYTES in all (see
-- page_fields). ARGV[3] = job id. Returns false for no record, or an empty list for a key that
-- is not a hash.
local key = P .. 'job:' .. ARGV[3]
local kind = redis.call('TYPE', key).ok
if kind == 'none' then return false end
if kind ~= 'hash' then return {} end
return page_fields(key, tonumber(ARGV[4]) or 0, {left = PAGE_BYTES})
