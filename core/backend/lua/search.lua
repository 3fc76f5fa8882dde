-- One bounded step of a search. ARGV[3] = status set, ARGV[4] = offset, ARGV[5] = budget (the
-- most records this call reads), ARGV[6] = limit (stop after this many matches), ARGV[7] = '1'
-- for newest first, ARGV[8] = the needle, lower case. A record matches when its id starts
-- with the needle, or its name, args, kwargs or error contain it (plain text, no patterns).
-- ARGV[9] = the largest value to return in bytes (0: all; see capped_hash).
-- Returns {next offset, 1 if the set was read to its end, {id, fields, id, fields, ...}}.
local offset, budget, limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local needle = ARGV[8]
-- The needle as a pattern that ignores case ("ab." -> "[aA][bB]%."): matching it against the
-- stored text allocates nothing, where lower-casing every field would copy it.
local pattern = string.gsub(needle, '.', function(c)
  if string.find(c, '%a') then return '[' .. string.lower(c) .. string.upper(c) .. ']' end
  if string.find(c, '%W') then return '%' .. c end
  return c
end)
local ids = status_ids(ARGV[3], offset, budget, ARGV[7] == '1')
local out, found, read = {}, 0, 0
for _, id in ipairs(ids) do
  read = read + 1
  local key = P .. 'job:' .. id
  local hit = string.lower(string.sub(id, 1, #needle)) == needle
  if not hit then
    local ok, f = pcall(redis.call, 'HMGET', key, 'name', 'args', 'kwargs', 'error')
    if ok then
      for i = 1, 4 do
        if f[i] and string.find(f[i], pattern) then
          hit = true
          break
        end
      end
    end
  end
  if hit then
    out[#out + 1] = id
    if redis.call('TYPE', key).ok == 'hash' then
      out[#out + 1] = capped_hash(key, tonumber(ARGV[9]) or 0)
    else
      out[#out + 1] = {}
    end
    found = found + 1
    if found >= limit then break end
  end
end
local ended = 0
if read == #ids and #ids < budget then ended = 1 end
return {offset + read, ended, out}
