-- The long history (see long_history in _lib): ARGV[3] = 'minute' or 'hour', ARGV[4] = how
-- many buckets back from now (at most 1440 minutes, 720 hours). Reads one hash per kind per
-- hour (or day) the span touches, at most 3 x 25 (or 3 x 31). Returns {now, step, first,
-- {kind, key number, fields...}...}: `first` is the number of the oldest bucket asked for.
local minutes = ARGV[3] == 'minute'
local count = math.min(tonumber(ARGV[4]), minutes and 1440 or 720)
local step = minutes and 60 or 3600
local span = minutes and 3600 or 86400 -- what one hash holds
local last = math.floor(SEC / step)
local first = last - count + 1
local out = {NOW_S, step, first}
for _, kind in ipairs({'s', 'c', 'f'}) do
  for key = math.floor(first * step / span), math.floor(last * step / span) do
    local fields = redis.call('HGETALL', P .. (minutes and 'hm:' or 'hh:') .. kind .. ':' .. key)
    if #fields > 0 then out[#out + 1] = {kind, key, fields} end
  end
end
return out
