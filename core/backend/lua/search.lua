-- One bounded step of a search. ARGV[3] = status set, ARGV[4] = offset, ARGV[5] = budget (the
-- most records this call reads), ARGV[6] = limit (stop after this many matches), ARGV[7] = '1'
-- for newest first, ARGV[8] = the needle, folded (core/backend/fold.py). A record matches
-- when its id starts with the needle, or its name, args, kwargs, error or meta contain it once
-- folded the same way (plain text, no patterns). ARGV[9] = the largest value to return in
-- bytes (0: all; see page_fields).
-- Bytes bound the call as well as records: it stops before it would search more than
-- SEARCH_BYTES of text, so its time is bounded whatever the records hold. Searching costs
-- ~10-20 ns a byte (read, fold, find: linear whatever the text, where a pattern that ignores
-- case costs the text's length times the needle's, ~90 ms per crafted 100 KB record). A value
-- over VALUE_BYTES is not searched (its job is found by its id or another field).
-- Returns {next offset, 1 if the set was read to its end, {id, fields, id, fields, ...}}.
local SEARCH_BYTES, VALUE_BYTES, SMALL_RECORD = 524288, 131072, 8192
local offset, budget, limit = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local needle, cap = ARGV[8], tonumber(ARGV[9]) or 0
local pending = ARGV[3] == 'pending'
local FIELDS = {'name', 'args', 'kwargs', 'error', 'meta'}
-- the largest value of each field searched (a meta is at most 4 KiB when jobdeck writes it)
local LARGEST = {VALUE_BYTES, VALUE_BYTES, VALUE_BYTES, VALUE_BYTES, 4096}

-- Case folding beyond ASCII (only when the needle has a byte over 127: ASCII bytes never occur
-- inside a longer UTF-8 sequence, so an ASCII needle is matched by ASCII folding alone).
local fold2 = nil
if string.find(needle, '[\128-\255]') then
  fold2 = {
    --[[FOLD_TABLE]]
  }
end
local function folded(text)
  local low = string.lower(text)
  if fold2 then low = string.gsub(low, '[\195-\213][\128-\191]', fold2) end
  return low
end

local ids = status_ids(ARGV[3], offset, budget, ARGV[7] == '1')
local out, found, read, left = {}, 0, 0, SEARCH_BYTES
local page = {left = PAGE_BYTES}
for _, id in ipairs(ids) do
  local key = P .. 'job:' .. id
  local kind = redis.call('TYPE', key).ok
  -- What searching this record costs: a small record (its whole size, an upper bound) is
  -- read in one HMGET; a larger one has its values' sizes read first, and values over
  -- VALUE_BYTES are left unread.
  local values, status, cost, sizes = {}, nil, 0, nil
  if kind == 'hash' then
    cost = redis.call('MEMORY', 'USAGE', key, 'SAMPLES', 0) or 0
    if cost > SMALL_RECORD then
      sizes, cost = {}, 0
      for k, f in ipairs(FIELDS) do
        sizes[k] = redis.call('HSTRLEN', key, f)
        if sizes[k] <= LARGEST[k] then cost = cost + sizes[k] end
      end
    end
  end
  -- A record that does not fit in what this call may still search waits for the next call,
  -- which starts with the whole budget (and fits any record, about: 4 values of VALUE_BYTES
  -- and a meta of 4 KiB).
  if cost > left and read > 0 then break end
  read = read + 1
  left = left - cost
  if kind == 'hash' and not sizes then
    values = redis.call('HMGET', key, 'name', 'args', 'kwargs', 'error', 'meta', 'status')
    status = values[6]
    values[6] = nil
  elseif kind == 'hash' then
    for k, f in ipairs(FIELDS) do
      if sizes[k] > 0 and sizes[k] <= LARGEST[k] then values[k] = redis.call('HGET', key, f) end
    end
    status = redis.call('HGET', key, 'status')
  end
  if not (pending and stale_entry(id, status or nil, kind ~= 'none')) then
    local hit = string.lower(string.sub(id, 1, #needle)) == needle
    for k = 1, 5 do
      local v = values[k]
      if v and not hit and string.find(folded(v), needle, 1, true) then hit = true end
    end
    if hit then
      out[#out + 1] = id
      if kind == 'hash' then out[#out + 1] = page_fields(key, cap, page) else out[#out + 1] = {} end
      found = found + 1
      if found >= limit then break end
    end
  end
end
local ended = 0
if read == #ids and #ids < budget then ended = 1 end
return {offset + read, ended, out}
