-- Lease up to ARGV[4] jobs to worker ARGV[3] for ARGV[5] ms. ARGV[6] = max stalls.
-- Returns {paused, next_due_ms, id, token, fields, id, token, fields, ...}.
local wid, count, lease, max_stalls = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
recover(20, max_stalls)

-- Promote due scheduled jobs (delays and retry backoff) into pending. The earliest is read
-- first: only when it is due is there anything to promote, and unless something was promoted
-- it is also the reply's next due time (one read per claim instead of two).
local earliest = redis.call('ZRANGE', P .. 'scheduled', 0, 0, 'WITHSCORES')
if #earliest > 0 and tonumber(earliest[2]) <= NOW then
  local due = redis.call('ZRANGEBYSCORE', P .. 'scheduled', '-inf', NOW, 'LIMIT', 0, 500)
  for _, id in ipairs(due) do
    local key = P .. 'job:' .. id
    if redis.call('TYPE', key).ok == 'hash' then
      local prio = redis.call('HGET', key, 'priority')
      redis.call('HSET', key, 'status', 'pending')
      redis.call('RPUSH', pending_key(prio), id)
    else
      redis.call('LPUSH', P .. 'pending:3', id) -- let the claim below report it as malformed
    end
  end
  redis.call('ZREM', P .. 'scheduled', unpack(due))
  earliest = nil
end

-- Most queues hold one priority: whether any list but pending:1 (or a sorted set left by an
-- earlier version) holds jobs. If none does, only pending:1 is popped, instead of an LPOP of
-- each empty list before it and after it on every claim. The same EXISTS counts the pause
-- flag, so the usual answer, neither, takes one command.
local flags = redis.call('EXISTS', P .. 'paused', P .. 'pending', P .. 'pending:3',
  P .. 'pending:2', P .. 'pending:0')
local paused, elsewhere = 0, 0
if flags > 0 then
  paused = redis.call('EXISTS', P .. 'paused')
  elsewhere = flags - paused
end

-- Jobs queued by a version that kept pending in one sorted set move to the front of the
-- lists (they are older than anything in them), newest first so the oldest ends up first.
-- Up to 100,000 per claim: a larger backlog moves over several claims, each slice ahead of
-- the last, so its order holds within a slice, and no job is left behind.
local legacy = elsewhere > 0 and redis.call('TYPE', P .. 'pending').ok
if legacy and legacy ~= 'none' then
  if legacy == 'zset' then
    local old = redis.call('ZPOPMAX', P .. 'pending', 100000)
    for k = 1, #old, 2 do
      local prio = redis.pcall('HGET', P .. 'job:' .. old[k], 'priority')
      if type(prio) ~= 'string' then prio = nil end
      redis.call('LPUSH', pending_key(prio), old[k])
    end
  else
    redis.call('RENAME', P .. 'pending', P .. 'pending:corrupt')
  end
end

local function next_due()
  if not earliest then earliest = redis.call('ZRANGE', P .. 'scheduled', 0, 0, 'WITHSCORES') end
  if #earliest == 0 then return -1 end
  return math.max(0, tonumber(earliest[2]) - NOW)
end

if paused == 1 or count <= 0 then
  return {paused, next_due()}
end

local out = {0, 0}
local started, wait_ms, dead, hist = 0, 0, 0, {}
local running = P .. 'running'
local until_ms = NOW + lease
local started_data = '{"worker":' .. cjson.encode(wid) .. ',"attempt":'
-- A bad entry does not use up a slot: pop again until `count` jobs started (or the queue is
-- empty), so valid jobs behind a run of bad entries start now, not after the worker's idle
-- wait. At most BAD_PER_CLAIM bad entries are cleared per call, to bound the script's time.
local BAD_PER_CLAIM = 1000
-- Highest priority first: `level` walks pending:3 down to `lowest`, and passes it once every
-- list came back short (the queue is empty).
local level, lowest = 3, 0
if elsewhere == 0 then level, lowest = 1, 1 end
while started < count and dead <= BAD_PER_CLAIM and level >= lowest do
  local want = count - started
  local popped = redis.call('LPOP', P .. 'pending:' .. level, want)
  if not popped or #popped < want then level = level - 1 end
  if not popped then popped = {} end
  -- Per batch, not per job: one INCRBY reserves a token for every popped entry (a bad entry
  -- leaves a gap; tokens need only be unique), and one ZADD leases every started job.
  local token = 0
  if #popped > 0 then token = redis.call('INCRBY', P .. 'tokens', #popped) - #popped end
  local leases = {}
  for i = 1, #popped do
    local id = popped[i]
    local key = P .. 'job:' .. id
    local fault, attempts, f = nil, nil, nil
    token = token + 1
    -- One read does for the type check too: a record of another type fails the HMGET, which
    -- pcall turns into a value instead of aborting the script with this batch popped.
    if #id > 0 and #id <= 128 then
      f = redis.pcall('HMGET', key, 'name', 'args', 'kwargs', 'max_retries', 'timeout',
        'priority', 'created_at', 'scheduled_for', 'error', 'stalls', 'attempts')
    end
    -- The id's characters are checked only when its record is not a job's: a record found
    -- under the id is one a submit wrote (its id was checked then), and the pattern costs
    -- ~0.5 us a job.
    if not f or ((f.err or not f[1]) and string.find(id, '[^%w%-_%.:]')) then
      -- Someone wrote a member that is not a jobdeck id. Keep it, under an id of ours.
      local raw = id
      if #raw > 4096 then raw = string.sub(raw, 1, 4096) end
      id = 'malformed-' .. redis.call('INCR', P .. 'seq')
      key = P .. 'job:' .. id
      redis.call('HSET', key, 'raw_id', raw, 'raw_id_length', #popped[i])
      fault = 'pending member is not a jobdeck id (' .. #popped[i] .. ' bytes, kept as raw_id)'
    elseif f.err then
      local kind = redis.call('TYPE', key).ok
      redis.call('RENAME', key, key .. ':corrupt')
      fault = 'job record is a ' .. kind .. ', not a hash (kept as job:' .. id .. ':corrupt)'
    elseif not f[1] and redis.call('EXISTS', key) == 0 then
      fault = 'job record is missing'
    else
      local before = f[11] or '0'
      if not string.match(before, '^%-?%d+$') or #before > 15 then
        fault = "field 'attempts' is not an integer"
      else
        attempts = tonumber(before) + 1
      end
    end
    if fault then
      -- Nothing a worker could run: dead-letter it here, where an operator can see why.
      redis.call('HSETNX', key, 'name', '<malformed>')
      redis.call('HSET', key, 'status', 'failed', 'finished_at', NOW_S,
        'error', cjson.encode({type = 'MalformedRecord', message = fault}))
      redis.call('ZADD', P .. 'dead', NOW, id)
      dead = dead + 1
      emit('JOB_FAILED', id, '<malformed>', 'failed', cjson.encode({reason = 'malformed',
        will_retry = false, error_type = 'MalformedRecord', error = fault}))
    else
      local tok = string.format('%d', token)
      redis.call('HSET', key, 'status', 'running', 'token', tok, 'worker', wid,
        'started_at', NOW_S, 'attempts', attempts)
      leases[#leases + 1] = until_ms
      leases[#leases + 1] = id
      local ready = tonumber(f[8]) or tonumber(f[7])
      if ready then
        wait_ms = wait_ms + math.max(0, NOW - ready * 1000)
        add_to(hist, 'wait', NOW - ready * 1000)
      end
      started = started + 1
      emit('JOB_STARTED', id, f[1], 'running', started_data .. attempts .. '}')
      out[#out + 1] = id
      out[#out + 1] = tok
      -- The record's fields as read, in the order of leases.CLAIMED_FIELDS (names cost
      -- Redis a reply element each), with the attempt now counted.
      f[11] = tostring(attempts)
      out[#out + 1] = f
    end
  end
  call_sliced('ZADD', running, leases)
end
stat({started = started, wait_ms = wait_ms, failed = dead})
histograms(hist)
totals({dead = dead})
if level < lowest then redis.call('DEL', P .. 'wake') end
out[2] = next_due()
return out
