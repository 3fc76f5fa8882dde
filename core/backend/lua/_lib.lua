-- Shared prelude, prepended to every jobdeck script when it is loaded.
-- ARGV[1] is the key prefix with its cluster hash tag ("jobdeck:{default}:"), ARGV[2] the
-- event log's approximate cap. Every key a script touches starts with the prefix, so one
-- script call stays in one Redis Cluster slot; KEYS[1] is passed only to route the call.
local P = ARGV[1]
local EVENTS_MAXLEN = ARGV[2]
local t = redis.call('TIME')
local NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local SEC = tonumber(t[1])

local function fmt_s(ms)
  return string.format('%.3f', ms / 1000)
end
local NOW_S = fmt_s(NOW)

-- Pending jobs wait in one list per priority, `pending:0` to `pending:3`, claimed from 3
-- down. A list entry costs ~22 bytes where a sorted set's cost ~130, and first in, first out
-- within a priority is the list's own order, so no sequence number is stored.
local function pending_key(prio)
  local p = tonumber(prio)
  if p ~= 0 and p ~= 2 and p ~= 3 then p = 1 end
  return P .. 'pending:' .. p
end

-- Appends `value` to the list `groups[key]`, made on first use (ids by pending list, to push
-- each list's share of a batch in one command).
local function add_to(groups, key, value)
  local list = groups[key]
  if not list then
    list = {}
    groups[key] = list
  end
  list[#list + 1] = value
end

local function pending_count()
  local n = 0
  for p = 0, 3 do n = n + redis.call('LLEN', P .. 'pending:' .. p) end
  return n
end

-- Out of the pending lists wherever it is: its priority's list first (LREM stops at the
-- first match, so this costs the job's place in line), then the others, for a record whose
-- priority was changed by hand.
local function remove_pending(id, prio)
  local home = pending_key(prio)
  if redis.call('LREM', home, 1, id) > 0 then return true end
  for p = 3, 0, -1 do
    local key = P .. 'pending:' .. p
    if key ~= home and redis.call('LREM', key, 1, id) > 0 then return true end
  end
  return false
end

-- `count` ids of a status from position `first`, in the order pages show: oldest first, or
-- newest first. Pending is its four lists end to end, highest priority first (so newest first
-- is lowest priority, latest submitted first); the other statuses are sorted sets by time.
local function status_ids(status, first, count, newest)
  if status ~= 'pending' then
    if newest then return redis.call('ZREVRANGE', P .. status, first, first + count - 1) end
    return redis.call('ZRANGE', P .. status, first, first + count - 1)
  end
  local ids = {}
  for k = 0, 3 do
    if count <= 0 then break end
    local p = k
    if not newest then p = 3 - k end
    local key = P .. 'pending:' .. p
    local len = redis.call('LLEN', key)
    if first >= len then
      first = first - len
    else
      local take = math.min(count, len - first)
      if newest then
        local part = redis.call('LRANGE', key, -(first + take), -(first + 1))
        for m = #part, 1, -1 do ids[#ids + 1] = part[m] end
      else
        for _, id in ipairs(redis.call('LRANGE', key, first, first + take - 1)) do
          ids[#ids + 1] = id
        end
      end
      count = count - take
      first = 0
    end
  end
  return ids
end

local function emit(etype, jid, name, status, data)
  -- The entry id carries the time (ms), so no timestamp field is stored, and a status the
  -- type implies (events._IMPLIED_STATUS) is left out: ~8 bytes less per entry of a log that
  -- holds one JOB_SUBMITTED per pending job. Event.from_fields puts it back.
  if (etype == 'JOB_SUBMITTED' and status == 'pending')
      or (etype == 'JOB_STARTED' and status == 'running')
      or (etype == 'JOB_COMPLETED' and status == 'completed') then
    status = ''
  end
  redis.call('XADD', P .. 'events', 'MAXLEN', '~', EVENTS_MAXLEN, '*',
    't', etype, 'j', jid or '', 'n', name or '', 's', status or '', 'd', data or '')
end

local WAKE_MAX = 256
local function wake(n)
  if n <= 0 then return end
  if n > WAKE_MAX then n = WAKE_MAX end
  local tokens = {}
  for i = 1, n do tokens[i] = '1' end
  -- Trimmed to half the cap, not to the cap: with no worker waiting, the list sits at the cap
  -- and trimming to it would cost every submit a second command.
  if redis.call('LPUSH', P .. 'wake', unpack(tokens)) > WAKE_MAX then
    redis.call('LTRIM', P .. 'wake', 0, WAKE_MAX / 2 - 1)
  end
end

-- One command over a long list of arguments, in slices Lua can unpack (its C stack holds
-- ~8,000 values): a batch of thousands of jobs must not fail the script. Slices are even, so
-- ZADD's score/member pairs stay together.
local function call_sliced(command, key, values)
  for first = 1, #values, 7000 do
    redis.call(command, key, unpack(values, first, math.min(first + 6999, #values)))
  end
end

-- Per-second counters for rates and sparklines; any process can read them.
-- Increments are positive, so HINCRBY returning the increment means the field was new: only
-- then can the key be new too, and only then is EXPIRE needed (one command less per call).
local function stat(fields)
  local key = P .. 'stat:' .. SEC
  local fresh = false
  for name, value in pairs(fields) do
    if value ~= 0 and redis.call('HINCRBY', key, name, value) == value then fresh = true end
  end
  if fresh then redis.call('EXPIRE', key, 900) end
end

-- Wait and run times (ms) into histogram buckets (the bounds are metrics.HISTOGRAM_BOUNDS_MS),
-- counted for the queue's lifetime like the totals: Prometheus reads them at scrape time.
-- A call notes its times with `add_to(acc, 'wait' or 'run', ms)` and buckets them once at its
-- end, so a batch builds the bounds table once, not once per job (~0.9 us a job).
local function histograms(acc)
  local bounds = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000,
    900000, 3600000}
  for name, times in pairs(acc) do
    local counts, sum = {}, 0
    for k = 1, #times do
      local ms = math.floor(math.max(0, times[k]))
      local label = 'inf'
      for b = 1, #bounds do
        if ms <= bounds[b] then
          label = bounds[b]
          break
        end
      end
      counts[label] = (counts[label] or 0) + 1
      sum = sum + ms
    end
    for label, n in pairs(counts) do redis.call('HINCRBY', P .. 'hist', name .. ':' .. label, n) end
    redis.call('HINCRBY', P .. 'hist', name .. ':sum_ms', sum)
  end
end

local function totals(fields)
  for name, value in pairs(fields) do
    if value ~= 0 then redis.call('HINCRBY', P .. 'totals', name, value) end
  end
end

-- HMGET that reads a record of the wrong type (garbage written by someone else) as missing,
-- instead of failing the whole script with WRONGTYPE halfway through its writes.
local function hash_fields(key, ...)
  if redis.call('TYPE', key).ok ~= 'hash' then return {} end
  return redis.call('HMGET', key, ...)
end

-- A job's status, nil for no record: a waiting job's record leaves its status out.
local function job_status(id)
  local f = hash_fields(P .. 'job:' .. id, 'status', 'created_at')
  return f[1] or (f[2] and 'pending') or nil
end

local function json_str(s)
  return cjson.encode(s)
end

-- Bounded history: drop the oldest entries (and their records) past `max` or older than `ttl`.
local function trim_history(zkey, max, ttl_ms)
  if ttl_ms > 0 then
    local old = redis.call('ZRANGEBYSCORE', zkey, '-inf', NOW - ttl_ms, 'LIMIT', 0, 1000)
    for _, id in ipairs(old) do redis.call('DEL', P .. 'job:' .. id) end
    if #old > 0 then redis.call('ZREM', zkey, unpack(old)) end
  end
  local extra = redis.call('ZCARD', zkey) - max
  if extra > 0 then
    if extra > 1000 then extra = 1000 end
    local popped = redis.call('ZPOPMIN', zkey, extra)
    for i = 1, #popped, 2 do redis.call('DEL', P .. 'job:' .. popped[i]) end
  end
end

-- Expired leases: the worker died or lost contact. Requeue ("stalled"), or after max_stalls
-- dead-letter; a job whose cancellation was requested is cancelled instead.
local function recover(limit, max_stalls)
  local expired = redis.call('ZRANGEBYSCORE', P .. 'running', '-inf', NOW, 'LIMIT', 0, limit)
  local requeued = 0
  for _, id in ipairs(expired) do
    redis.call('ZREM', P .. 'running', id)
    local key = P .. 'job:' .. id
    if redis.call('TYPE', key).ok == 'hash' then
      local f = redis.call('HMGET', key, 'name', 'priority', 'cancel', 'worker')
      -- pcall: a corrupted 'stalls' dead-letters this record instead of failing every script
      -- that recovers leases (claim, heartbeat) from now on.
      local stalls = redis.pcall('HINCRBY', key, 'stalls', 1)
      local etype, why = 'Stalled', nil
      if type(stalls) ~= 'number' then
        stalls, etype, why = max_stalls, 'MalformedRecord', "field 'stalls' is not an integer"
      end
      redis.call('HDEL', key, 'token')
      local data = cjson.encode({reason = 'stalled', stalls = stalls, worker = f[4] or ''})
      if f[3] == '1' then
        redis.call('HSET', key, 'status', 'cancelled', 'finished_at', NOW_S)
        redis.call('ZADD', P .. 'cancelled', NOW, id)
        totals({cancelled = 1})
        emit('JOB_CANCELLED', id, f[1], 'cancelled', data)
      elseif stalls >= max_stalls then
        local err = cjson.encode({type = etype,
          message = why or ('stalled ' .. stalls .. ' times: its worker stopped heartbeating')})
        redis.call('HSET', key, 'status', 'failed', 'finished_at', NOW_S, 'error', err)
        redis.call('ZADD', P .. 'dead', NOW, id)
        totals({dead = 1})
        stat({failed = 1})
        emit('JOB_FAILED', id, f[1], 'failed', cjson.encode({reason = 'stalled', stalls = stalls,
          will_retry = false, error_type = etype, error = why or ('stalled ' .. stalls .. ' times')}))
      else
        redis.call('HSET', key, 'status', 'pending')
        -- First in line again: it was taken from the front.
        redis.call('LPUSH', pending_key(f[2]), id)
        totals({requeued = 1})
        emit('JOB_REQUEUED', id, f[1], 'pending', data)
        requeued = requeued + 1
      end
    end
  end
  wake(requeued)
  return #expired
end

-- Unique jobs: `unique:<key>` holds {id, until}. The key is held while its job is unfinished,
-- and, if submitted with a window, until the window ends (`until`, ms; 0 for none).
local function unique_holder(ukey)
  local f = hash_fields(P .. 'unique:' .. ukey, 'id', 'until')
  if not f[1] then return nil end
  if (tonumber(f[2]) or 0) > NOW then return f[1] end
  local st = job_status(f[1])
  if st == 'pending' or st == 'scheduled' or st == 'running' then return f[1] end
  return nil
end

-- A job ended: free its unique key now, or when its window ends.
local function release_unique(id, ukey)
  if not ukey or ukey == '' then return end
  local lk = P .. 'unique:' .. ukey
  local f = hash_fields(lk, 'id', 'until')
  if f[1] ~= id then return end
  local window_end = tonumber(f[2]) or 0
  if window_end > NOW then redis.call('PEXPIREAT', lk, window_end) else redis.call('DEL', lk) end
end

-- A job hash with every value over `cap` bytes left out (a console needs a row, not a 100 MB
-- result): a left-out field is named as '__omitted:<field>' with its size. cap <= 0: all.
local function capped_hash(key, cap)
  if cap <= 0 then return redis.call('HGETALL', key) end
  local out = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local size = redis.call('HSTRLEN', key, f)
    if size > cap then
      out[#out + 1] = '__omitted:' .. f
      out[#out + 1] = tostring(size)
    else
      out[#out + 1] = f
      out[#out + 1] = redis.call('HGET', key, f)
    end
  end
  return out
end
