-- A page of one status. ARGV[3] = status, ARGV[4] = offset, ARGV[5] = limit (at most 200
-- per call: a row costs ~5 us, ~20 when its values are capped one by one), ARGV[6] = '1' for
-- newest (highest score) first, ARGV[7] = the largest value to read in bytes (0: all).
-- Values are bounded by page_fields. Returns {id, fields, ...}.
-- A pending page leaves out the entries of cancelled jobs not yet popped (stale_entry), so
-- it may hold fewer rows than its positions.
local limit, cap = math.min(tonumber(ARGV[5]), 200), tonumber(ARGV[7]) or 0
if limit <= 0 then return {} end
local pending = ARGV[3] == 'pending'
local ids = status_ids(ARGV[3], tonumber(ARGV[4]), limit, ARGV[6] == '1')
local out, budget = {}, {left = PAGE_BYTES}
for _, id in ipairs(ids) do
  local key = P .. 'job:' .. id
  local kind = redis.call('TYPE', key).ok
  local status = pending and kind == 'hash' and redis.call('HGET', key, 'status')
  if pending and stale_entry(id, status or nil, kind ~= 'none') then
    -- a cancelled job's entry: not a pending job any more
  else
    out[#out + 1] = id
    if kind == 'hash' then out[#out + 1] = page_fields(key, cap, budget) else out[#out + 1] = {} end
  end
end
return out
