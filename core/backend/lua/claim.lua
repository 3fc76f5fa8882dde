-- Lease up to ARGV[4] jobs to worker ARGV[3] for ARGV[5] ms. ARGV[6] = max stalls, ARGV[7..9]
-- = bounds (see bounds_at), ARGV[10] = request id: the claim's ids are kept under the worker
-- (`claimed:<worker>`, for one lease), and the same claim sent again after a lost reply
-- returns the jobs the first one leased instead of leasing more (each would otherwise count
-- an attempt and, at its lease's end, a stall). ARGV[11] = '1' when the worker runs only the
-- job names ARGV[12..] (its handlers), '' when it runs any.
-- Returns {paused, next_due_ms, id, token, fields, id, token, fields, ...}; next_due_ms is when
-- the earliest scheduled job is due or a throttled key may have room (-1: nothing waits).
local wid, count, lease, max_stalls = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local rid = ARGV[10]
local picky = ARGV[11] == '1'
local side = 0 -- 1 when jobs are held or parked (read below)
local claimed_key = P .. 'claimed:' .. wid
-- The fields a claim hands over, in the order of replies.CLAIMED_FIELDS (the main read below
-- names them too: a field added there goes here as well).
local FIELDS = {'name', 'args', 'kwargs', 'max_retries', 'timeout', 'priority', 'created_at',
  'scheduled_for', 'error', 'stalls', 'attempts', 'meta', 'feed'}

local function next_due(earliest)
  if not earliest then earliest = redis.call('ZRANGE', P .. 'scheduled', 0, 0, 'WITHSCORES') end
  local due = -1
  if #earliest > 0 then due = math.max(0, tonumber(earliest[2]) - NOW) end
  if side > 0 then
    local first = redis.call('ZRANGE', P .. 'held', 0, 0, 'WITHSCORES')
    local at = first[2] and tonumber(first[2])
    if at and at < 1e15 and (due < 0 or at - NOW < due) then due = math.max(0, at - NOW) end
  end
  return due
end

if rid ~= '' then
  local last = redis.call('GET', claimed_key)
  if last and string.sub(last, 1, #rid + 1) == rid .. ' ' then
    local out = {0, next_due(nil)}
    for id in string.gmatch(string.sub(last, #rid + 2), '%S+') do
      local key = P .. 'job:' .. id
      local f = redis.pcall('HMGET', key, 'token', 'worker', 'status', unpack(FIELDS))
      if not f.err and f[2] == wid and f[3] == 'running' and f[1] then
        out[#out + 1] = id
        out[#out + 1] = f[1]
        out[#out + 1] = {unpack(f, 4, 3 + #FIELDS)}
      end
    end
    return out
  end
end

local _, stalled_out = recover(20, max_stalls, bounds_at(7))
if stalled_out then
  for _, e in ipairs(stalled_out) do wf().ended(e[1], e[2], e[3], e[4], nil, e[5]) end
end

-- Promote due scheduled jobs (delays and retry backoff) into pending. The earliest is read
-- first: only when it is due is there anything to promote, and unless something was promoted
-- it is also the reply's next due time (one read per claim instead of two).
local earliest = redis.call('ZRANGE', P .. 'scheduled', 0, 0, 'WITHSCORES')
if #earliest > 0 and tonumber(earliest[2]) <= NOW then
  local due = redis.call('ZRANGEBYSCORE', P .. 'scheduled', '-inf', NOW, 'LIMIT', 0, 500)
  local queued = {}
  for _, id in ipairs(due) do
    local key = P .. 'job:' .. id
    if redis.call('TYPE', key).ok == 'hash' then
      local f = redis.call('HMGET', key, 'priority', 'group')
      redis.call('HSET', key, 'status', 'pending')
      queue_for(queued, lane_key(f[1], f[2]), id)
    else
      redis.call('LPUSH', P .. 'pending:3', id) -- let the claim below report it as malformed
    end
  end
  push_queued(queued, false)
  redis.call('ZREM', P .. 'scheduled', unpack(due))
  earliest = nil
end

-- Most queues hold one priority and nothing set aside: whether any list but pending:1 (or a
-- sorted set left by an earlier version, or a rotation of groups) holds jobs, and whether
-- jobs are held or parked. If none does, only pending:1 is popped, instead of an LPOP of each
-- empty list before it and after it on every claim. The same EXISTS counts the pause flag,
-- so the usual answer, none, takes one command.
-- (workflows) The same EXISTS says whether steps are left in the work list or jobs may
-- expire: the claim advances the one and sweeps the other, bounded, before it pops.
local LISTED = {P .. 'paused', P .. 'pending', P .. 'pending:3', P .. 'pending:2',
  P .. 'pending:0', P .. 'gr:3', P .. 'gr:2', P .. 'gr:1', P .. 'gr:0', P .. 'held',
  P .. 'parked', P .. 'wf', P .. 'exp'}
local flags = redis.call('EXISTS', unpack(LISTED))
local paused, elsewhere = 0, 0
if flags > 0 then
  local flowing = redis.call('EXISTS', P .. 'wf', P .. 'exp')
  if flowing > 0 or WF then
    local W = wf()
    W.sweep(100)
    W.flush(bounds_at(7), W.run(W.STEP))
    flags = redis.call('EXISTS', unpack(LISTED)) -- released jobs may have filled a list
    flowing = redis.call('EXISTS', P .. 'wf', P .. 'exp')
  end
  paused = redis.call('EXISTS', P .. 'paused')
  side = redis.call('EXISTS', P .. 'held', P .. 'parked')
  elsewhere = flags - paused - side - flowing
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

-- (routing) Whether this worker has a handler for jobs called `name`.
local served = nil
local function serves(name)
  if not picky then return true end
  if not served then
    served = {}
    for k = 12, #ARGV do served[ARGV[k]] = true end
  end
  return served[name] == true
end

local out = {0, 0}
local started, wait_ms, dead, skipped, aside, hist = 0, 0, 0, 0, 0, {}
local running = P .. 'running'
local until_ms = NOW + lease
local started_data = '{"worker":' .. cjson.encode(wid) .. ',"attempt":'
-- Tokens fence each attempt: unique per queue even across a failover that loses the newest
-- writes and so rolls the `tokens` counter back: a token is the counter's value and the
-- claim's time (ms), and a claim on the promoted server runs later than the lost one.
local token_suffix = '.' .. NOW
local leased_ids = {}
local memo = {} -- limits by key, with what this call did under each (limit_of)
-- A bad or stale entry, or a job set aside, does not use up a slot: pop again until `count`
-- jobs started (or the queue is empty), so valid jobs behind a run of bad entries start now,
-- not after the worker's idle wait. At most BAD_PER_CLAIM of them are handled per call, to
-- bound its time.
local BAD_PER_CLAIM = 1000
-- Bytes bound a claim as well as its count: it stops taking jobs once the args, kwargs and
-- errors it hands over pass CLAIM_BYTES (copying them out is its cost: a hundred jobs with
-- 100 KB args would be 10 MB), puts the rest of its batch back in front, and leaves a wake-up
-- so the worker claims again at once.
local CLAIM_BYTES, bytes, full = 524288, 0, false

-- Popped pending ids, each leased, dropped (a cancelled job's entry), set aside (parked,
-- held) or dead-lettered as malformed: the decisions in SEAMS order, each a helper. `from` is
-- the side lane they left ('held', 'parked' with `lane_name`), nil for a main list or a
-- group's lane. Per batch, not per job: one INCRBY reserves a token for every popped entry
-- (an entry not leased leaves a gap; tokens need only be unique), and one ZADD leases them.
-- Returns the position of the first id left untaken once the claim is full (CLAIM_BYTES),
-- for the caller to put back where it was; nil when every id was taken.
local function take(popped, from, lane_name)
  local token = 0
  if #popped > 0 then token = redis.call('INCRBY', P .. 'tokens', #popped) - #popped end
  local leases = {}
  local stop = nil
  for i = 1, #popped do
    if full then
      stop = i
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
        'priority', 'created_at', 'scheduled_for', 'error', 'stalls', 'attempts', 'meta',
        'feed', 'status', 'limit', 'expires')
    end
    -- (a field a record does not have costs HMGET a scan of the whole record: 'held' is read
    -- only for the jobs that left a held lane)
    if from == 'held' then
      flow().unhold(id, f and not f.err and f[1] and redis.call('HGET', key, 'held'))
    elseif from == 'parked' then
      flow().unpark(lane_name)
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
    elseif f[14] then
      stale = stale_entry(id, f[14], true)
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
    local gone = not fault and not stale and expired_at_claim(id, f[16])
    local lim = not fault and not stale and not gone and f[15] and flow().limit_of(f[15], memo)
    if stale then
      skipped = skipped + 1
    elseif gone then
      -- (workflows) its `expires` passed: ended expired, never run (EXPIRE_AT_POP a claim)
      skipped = skipped + 1
      if WF.popped_expired >= WF.EXPIRE_AT_POP then full = true end
    elseif fault then
      -- Nothing a worker could run: dead-letter it here, where an operator can see why.
      redis.call('HSETNX', key, 'name', '<malformed>')
      redis.call('HSET', key, 'status', 'failed', 'finished_at', NOW_S,
        'error', cjson.encode({type = 'MalformedRecord', message = fault}))
      redis.call('ZADD', P .. 'dead', NOW, id)
      dead = dead + 1
      emit('JOB_FAILED', id, '<malformed>', 'failed', cjson.encode({reason = 'malformed',
        will_retry = false, error_type = 'MalformedRecord', error = fault}))
    elseif f[1] and not serves(f[1]) and flow().utf8_ok(f[1]) then
      -- (routing) not served here: parked for a worker that has the handler. A record without
      -- a name, or with one no handler can have, is the worker's to report as malformed.
      flow().park(id, f[1], f[6])
      aside = aside + 1
    elseif lim and not flow().has_room(lim) then
      -- (limits) over its limit: held, throttled, until the limit has room
      flow().hold(id, lim, f[6])
      aside = aside + 1
    else
      local tok = string.format('%d', token) .. token_suffix
      redis.call('HSET', key, 'status', 'running', 'token', tok, 'worker', wid,
        'started_at', NOW_S, 'attempts', attempts)
      if lim then
        flow().take_slot(lim, id)
        redis.call('HSET', key, 'ldef', lim.def)
      elseif f[15] then
        redis.call('SADD', P .. 'lrun:' .. f[15], id)
      end
      if f[16] then redis.call('ZREM', P .. 'exp', id) end
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
      f[16] = nil
      f[15] = nil
      f[14] = nil
      out[#out + 1] = f
      bytes = bytes + #(f[2] or '') + #(f[3] or '') + #(f[9] or '')
      full = bytes >= CLAIM_BYTES
    end
  end
  call_sliced('ZADD', running, leases)
  if stop then wake(1) end
  return stop
end

local function busy()
  return full or started >= count or dead + skipped + aside > BAD_PER_CLAIM
end

-- Jobs set aside go first when they can run: they were in line before the main lists' jobs.
-- (routing) Parked jobs of the names this worker serves (a worker that serves any name takes
-- those of the names with the most parked).
if side > 0 then
  local names, counts = {}, {}
  if picky then
    for k = 12, #ARGV do names[#names + 1] = ARGV[k] end
    if #names > 0 then counts = redis.call('ZMSCORE', P .. 'parked', unpack(names)) end
  else
    local top = redis.call('ZREVRANGE', P .. 'parked', 0, 99, 'WITHSCORES')
    for k = 1, #top, 2 do
      names[#names + 1] = top[k]
      counts[#counts + 1] = top[k + 1]
    end
  end
  for k = 1, #names do
    if busy() then break end
    if counts[k] then
      local lane = P .. 'pq:' .. names[k]
      local got, ids = redis.call('ZPOPMIN', lane, count - started), {}
      for m = 1, #got, 2 do ids[#ids + 1] = got[m] end
      local stop = take(ids, 'parked', names[k])
      if stop then -- the claim is full: the rest stay parked, in their places
        for m = stop, #ids do redis.call('ZADD', lane, got[2 * m], ids[m]) end
      end
    end
  end
  -- (limits) Held jobs of the keys whose limit may have room now, one at a time while it has.
  local keys = redis.call('ZRANGEBYSCORE', P .. 'held', '-inf', NOW, 'LIMIT', 0, 100)
  for _, key in ipairs(keys) do
    if busy() then break end
    local lim, lane = flow().limit_of(key, memo), P .. 'hq:' .. key
    while not busy() and (not lim or flow().has_room(lim)) do
      local got = redis.call('ZPOPMIN', lane)
      if #got == 0 then break end
      take({got[1]}, 'held')
    end
    if lim then
      lim.holding = true -- scored again at the end (limits_done)
    elseif redis.call('EXISTS', lane) == 0 then
      redis.call('ZREM', P .. 'held', key)
      redis.call('ZREM', P .. 'heldx', key)
    end
  end
end

-- Up to `want` ids of priority p. With groups at p, their lanes and the main list ('') take
-- turns in the rotation gr:<p>, one job a turn; a lane found empty leaves it, and the
-- rotation ends with the last group. Returns the ids, whether priority p ran dry, and the
-- list each id came from when groups took turns (nil: all from the main list).
local turns = 4 * count + BAD_PER_CLAIM
local function pop_level(p, want)
  local main, rot = P .. 'pending:' .. p, P .. 'gr:' .. p
  local popped, rotating, lanes = {}, elsewhere > 0, nil
  while rotating and #popped < want and turns > 0 do
    turns = turns - 1
    local g = redis.call('LMOVE', rot, rot, 'LEFT', 'RIGHT')
    if not g then
      rotating = false
    else
      local lane = main
      if g ~= '' then lane = P .. 'gq:' .. p .. ':' .. g end
      local id = redis.call('LPOP', lane)
      if id then
        popped[#popped + 1] = id
        lanes = lanes or {}
        lanes[#popped] = lane
        if g ~= '' then lane_count('g' .. p, -1) end
      end
      if not id or redis.call('EXISTS', lane) == 0 then
        redis.call('RPOP', rot)
        if redis.call('LLEN', rot) == 1 and redis.call('LINDEX', rot, 0) == '' then
          redis.call('DEL', rot)
          rotating = false
        end
      end
    end
  end
  if rotating then return popped, false, lanes end
  local rest = want - #popped
  if rest > 0 then
    for _, id in ipairs(pop(p, rest)) do
      popped[#popped + 1] = id
      if lanes then lanes[#popped] = main end
    end
  end
  return popped, #popped < want, lanes
end

-- Highest priority first: `level` walks pending:3 down to `lowest`, and passes it once every
-- list came back short (the queue is empty).
local level, lowest = 3, 0
if elsewhere == 0 then level, lowest = 1, 1 end
while not busy() and level >= lowest and turns > 0 do
  local from = level
  local popped, dry, lanes = pop_level(level, count - started)
  if dry then level = level - 1 end
  local stop = take(popped)
  if stop then -- the claim is full: the rest go back in front of their lists, in order
    for k = #popped, stop, -1 do
      push_pending(lanes and lanes[k] or P .. 'pending:' .. from, {popped[k]}, true)
    end
  end
end
if next(memo) then flow().limits_done(memo) end
-- (workflows) the children of the jobs this claim expired are resolved now; a claim that
-- stopped at its expirations' bound wakes a worker to go on at once
if WF then
  WF.flush(bounds_at(7), WF.run(#WF.todo > 0 and WF.STEP or 0))
  if WF.popped_expired >= WF.EXPIRE_AT_POP then wake(1) end
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
