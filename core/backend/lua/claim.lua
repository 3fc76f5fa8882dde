-- Lease up to ARGV[4] jobs to worker ARGV[3] for ARGV[5] ms. ARGV[6] = max stalls, ARGV[7..9]
-- = bounds (see bounds_at), ARGV[10] = request id: the claim's ids are kept under the worker
-- (`claimed:<worker>`, for one lease), and the same claim sent again after a lost reply
-- returns the jobs the first one leased instead of leasing more (each would otherwise count
-- an attempt and, at its lease's end, a stall).
-- Returns {paused, next_due_ms, id, token, fields, id, token, fields, ...}.
local wid, count, lease, max_stalls = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local rid = ARGV[10]
local claimed_key = P .. 'claimed:' .. wid
local FIELDS = {'name', 'args', 'kwargs', 'max_retries', 'timeout', 'priority', 'created_at',
  'scheduled_for', 'error', 'stalls', 'attempts'}

local function next_due(earliest)
  if not earliest then earliest = redis.call('ZRANGE', P .. 'scheduled', 0, 0, 'WITHSCORES') end
  if #earliest == 0 then return -1 end
  return math.max(0, tonumber(earliest[2]) - NOW)
end

if rid ~= '' then
  local last = redis.call('GET', claimed_key)
  if last and string.sub(last, 1, #rid + 1) == rid .. ' ' then
    -- Their leases start again now: the worker counts them from this reply.
    local out = {0, next_due(nil)}
    for id in string.gmatch(string.sub(last, #rid + 2), '%S+') do
      local key = P .. 'job:' .. id
      local f = redis.pcall('HMGET', key, 'token', 'worker', 'status', unpack(FIELDS))
      if not f.err and f[2] == wid and f[3] == 'running' and f[1] then
        redis.call('ZADD', P .. 'running', 'XX', NOW + lease, id)
        out[#out + 1] = id
        out[#out + 1] = f[1]
        out[#out + 1] = {unpack(f, 4, 3 + #FIELDS)}
      end
    end
    return out
  end
end

recover(20, max_stalls, bounds_at(7))

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

-- Jobs queued by a version that kept pending in one sorted set are claimed from it, each
-- priority's ahead of its list (they are older than anything in it); nothing moves the
-- backlog, so a claim costs its `count` jobs however long it is (see legacy_band).
local legacy = elsewhere > 0 and redis.call('TYPE', P .. 'pending').ok
if legacy and legacy ~= 'none' and legacy ~= 'zset' then
  redis.call('RENAME', P .. 'pending', P .. 'pending:corrupt')
end

-- Up to `want` ids of priority `level`: the old sorted set's first, then its list's.
local function pop(level, want)
  local popped = {}
  if legacy == 'zset' then
    local lo, hi = legacy_band(level)
    popped = redis.call('ZRANGEBYSCORE', P .. 'pending', lo, hi, 'LIMIT', 0, want)
    if #popped > 0 then redis.call('ZREM', P .. 'pending', unpack(popped)) end
    if #popped == want then return popped end
  end
  local listed = redis.call('LPOP', P .. 'pending:' .. level, want - #popped)
  if not listed then return popped end
  if #popped == 0 then return listed end
  for _, id in ipairs(listed) do popped[#popped + 1] = id end
  return popped
end

if paused == 1 or count <= 0 then
  return {paused, next_due(earliest)}
end

local out = {0, 0}
local started, wait_ms, dead, skipped, hist = 0, 0, 0, 0, {}
local running = P .. 'running'
local until_ms = NOW + lease
local started_data = '{"worker":' .. cjson.encode(wid) .. ',"attempt":'
-- Tokens fence each attempt: unique per queue even across a failover that loses the newest
-- writes and so rolls the `tokens` counter back: a token is the counter's value and the
-- claim's time (ms), and a claim on the promoted server runs later than the lost one.
local token_suffix = '.' .. NOW
local leased_ids = {}
-- A bad or stale entry does not use up a slot: pop again until `count` jobs started (or the
-- queue is empty), so valid jobs behind a run of bad entries start now, not after the
-- worker's idle wait. At most BAD_PER_CLAIM of them are cleared per call, to bound its time.
local BAD_PER_CLAIM = 1000
-- Bytes bound a claim as well as its count: it stops taking jobs once the args, kwargs and
-- errors it hands over pass CLAIM_BYTES (copying them out is its cost: a hundred jobs with
-- 100 KB args would be 10 MB), puts the rest of its batch back in front, and leaves a wake-up
-- so the worker claims again at once.
local CLAIM_BYTES, bytes, full = 1048576, 0, false
-- Highest priority first: `level` walks pending:3 down to `lowest`, and passes it once every
-- list came back short (the queue is empty).
local level, lowest = 3, 0
if elsewhere == 0 then level, lowest = 1, 1 end
while started < count and dead + skipped <= BAD_PER_CLAIM and level >= lowest and not full do
  local want = count - started
  local from = level
  local popped = pop(level, want)
  if #popped < want then level = level - 1 end
  -- Per batch, not per job: one INCRBY reserves a token for every popped entry (a bad entry
  -- leaves a gap; tokens need only be unique), and one ZADD leases every started job.
  local token = 0
  if #popped > 0 then token = redis.call('INCRBY', P .. 'tokens', #popped) - #popped end
  local leases = {}
  for i = 1, #popped do
    if full then
      -- LPUSH puts its last argument first: the rest go back in their order, in front.
      local rest = {}
      for k = #popped, i, -1 do rest[#rest + 1] = popped[k] end
      call_sliced('LPUSH', P .. 'pending:' .. from, rest)
      wake(1)
      break
    end
    local id = popped[i]
    local key = P .. 'job:' .. id
    local fault, attempts, f = nil, nil, nil
    local stale = false
    token = token + 1
    -- One read does for the type check too: a record of another type fails the HMGET, which
    -- pcall turns into a value instead of aborting the script with this batch popped.
    if #id > 0 and #id <= 128 then
      f = redis.pcall('HMGET', key, 'name', 'args', 'kwargs', 'max_retries', 'timeout',
        'priority', 'created_at', 'scheduled_for', 'error', 'stalls', 'attempts', 'status')
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
    elseif f[12] then
      stale = stale_entry(id, f[12], true)
    elseif not f[1] and redis.call('EXISTS', key) == 0 then
      stale = stale_entry(id, nil, false)
      if not stale then fault = 'job record is missing' end
    end
    if stale then drop_stale(id) end
    if not fault and not stale then
      local before = f[11] or '0'
      if not string.match(before, '^%-?%d+$') or #before > 15 then
        fault = "field 'attempts' is not an integer"
      else
        attempts = tonumber(before) + 1
      end
    end
    if stale then
      skipped = skipped + 1
    elseif fault then
      -- Nothing a worker could run: dead-letter it here, where an operator can see why.
      redis.call('HSETNX', key, 'name', '<malformed>')
      redis.call('HSET', key, 'status', 'failed', 'finished_at', NOW_S,
        'error', cjson.encode({type = 'MalformedRecord', message = fault}))
      redis.call('ZADD', P .. 'dead', NOW, id)
      dead = dead + 1
      emit('JOB_FAILED', id, '<malformed>', 'failed', cjson.encode({reason = 'malformed',
        will_retry = false, error_type = 'MalformedRecord', error = fault}))
    else
      local tok = string.format('%d', token) .. token_suffix
      redis.call('HSET', key, 'status', 'running', 'token', tok, 'worker', wid,
        'started_at', NOW_S, 'attempts', attempts)
      leases[#leases + 1] = until_ms
      leases[#leases + 1] = id
      leased_ids[#leased_ids + 1] = id
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
      f[12] = nil
      out[#out + 1] = f
      bytes = bytes + #(f[2] or '') + #(f[3] or '') + #(f[9] or '')
      full = bytes >= CLAIM_BYTES
    end
  end
  call_sliced('ZADD', running, leases)
end
if started > 0 and rid ~= '' then
  redis.call('SET', claimed_key, rid .. ' ' .. table.concat(leased_ids, ' '), 'PX', lease)
end
stat({started = started, wait_ms = wait_ms, failed = dead})
histograms(hist)
totals({dead = dead})
if dead > 0 then trim_dead(bounds_at(7)) end
if level < lowest and not full then redis.call('DEL', P .. 'wake') end
out[2] = next_due(earliest)
return out
