-- A page of one status. ARGV[3] = status, ARGV[4] = offset, ARGV[5] = limit,
-- ARGV[6] = '1' for newest (highest score) first, ARGV[7] = the largest value to read in
-- bytes (0: all; see capped_hash). Returns {id, fields, id, fields, ...}.
if tonumber(ARGV[5]) <= 0 then return {} end
local ids = status_ids(ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1')
local out = {}
for _, id in ipairs(ids) do
  local key = P .. 'job:' .. id
  out[#out + 1] = id
  if redis.call('TYPE', key).ok == 'hash' then
    out[#out + 1] = capped_hash(key, tonumber(ARGV[7]) or 0)
  else
    out[#out + 1] = {}
  end
end
return out
