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

-- Appends `value` to the list `groups[key]`, made on first use (a call's times by kind: see
-- histograms; ids a call makes pending go through queue_for, which keeps the lists' order).
local function add_to(groups, key, value)
  local list = groups[key]
  if not list then
    list = {}
    groups[key] = list
  end
  list[#list + 1] = value
end

-- A pending job that is cancelled keeps its place in its pending list: the cancel marks the
-- record (O(1), where taking the id out of a list of a million costs ~11 ms), and the claim
-- that pops the id finds the record cancelled and drops it (`stale_entry`). Until then the
-- id is in the set `ghosts`, so the pending count stays exact.
-- Jobs queued by a version that kept pending in one sorted set (`pending`, scored by
-- priority band, then submission order) stay there until claimed: each priority's are taken
-- (and shown) ahead of its list, which holds newer jobs (see claim.lua).
local function legacy_pending()
  return redis.call('TYPE', P .. 'pending').ok == 'zset'
end

-- The score range of priority `p`'s band in that set, as ZRANGEBYSCORE bounds: (3 - p) * 2^44
-- up to the next band; the outer bands are open, so no stray score is left behind.
local function legacy_band(p)
  local band = 17592186044416
  local lo, hi = '-inf', '+inf'
  if p < 3 then lo = tostring((3 - p) * band) end
  if p > 0 then hi = '(' .. tostring((4 - p) * band) end
  return lo, hi
end

-- Side lanes. A pending job waits in its priority's main list, or in one side lane:
--   gq:<p>:<group>  its group's lane (fairness): at priority p the claim takes the groups in
--                   turn, from the rotation list gr:<p>, where '' stands for the main list;
--   pq:<name>       parked: a worker without the handler popped it; it waits for one that
--                   has it. `parked` counts parked jobs by name;
--   hq:<key>        held (throttled): over the limit of its key. `held` scores each such key
--                   by when its limit may have room, `heldx` lists them by name.
-- Parked and held lanes are sorted sets by `lane_score`: priority, then the order in which
-- claims set them aside (`laneseq`), which is the order of their main lists.
-- `lanen` counts the jobs in side lanes (g0..g3, held, parked): the pending count and pages
-- skip whole lanes without reading them.
local LANE_BAND = 17592186044416

-- The list a pending job joins: its group's lane, or its priority's main list.
local function lane_key(prio, group)
  if not group or group == '' then return pending_key(prio) end
  local p = tonumber(prio)
  if p ~= 0 and p ~= 2 and p ~= 3 then p = 1 end
  return P .. 'gq:' .. p .. ':' .. group
end

-- Moves a count of `lanen` (a side lane's jobs).
local function lane_count(field, n)
  if n ~= 0 then redis.call('HINCRBY', P .. 'lanen', field, n) end
end

-- Pushes ids onto a pending list (`front`: to the front, in the order given), keeping the
-- group lanes' count and the rotation of their priority: a group's new lane joins it, and so
-- does the main list ('') when it was empty and groups are taking turns.
local function push_pending(key, ids, front)
  if #ids == 0 then return end
  local n = 0
  if front then
    local reversed = {}
    for k = #ids, 1, -1 do reversed[#reversed + 1] = ids[k] end
    ids = reversed
  end
  for first = 1, #ids, 7000 do
    n = redis.call(front and 'LPUSH' or 'RPUSH', key,
      unpack(ids, first, math.min(first + 6999, #ids)))
  end
  local tail = string.sub(key, #P + 1)
  if string.sub(tail, 1, 3) == 'gq:' then
    local p = string.sub(tail, 4, 4)
    lane_count('g' .. p, #ids)
    if n == #ids then
      local rot = P .. 'gr:' .. p
      if redis.call('RPUSH', rot, string.sub(tail, 6)) == 1
          and redis.call('EXISTS', P .. 'pending:' .. p) == 1 then
        redis.call('RPUSH', rot, '')
      end
    end
  elseif n == #ids and string.sub(tail, 1, 8) == 'pending:' then
    local rot = P .. 'gr:' .. string.sub(tail, 9)
    if redis.call('EXISTS', rot) == 1 then redis.call('RPUSH', rot, '') end
  end
end

-- Jobs a call makes pending, by the list each enters (`lanes`: made with `{}`), so that each
-- list's share goes in one command; the lists keep the order their first job came, so groups
-- new to a rotation in one call take their turns in that order (not a hash table's).
local function queue_for(lanes, key, id)
  local ids = lanes[key]
  if not ids then
    ids = {}
    lanes[key] = ids
    lanes[#lanes + 1] = key
  end
  ids[#ids + 1] = id
end

-- Pushes what `queue_for` gathered, list by list in that order (`front`: see push_pending).
local function push_queued(lanes, front)
  for _, key in ipairs(lanes) do push_pending(key, lanes[key], front) end
end

local function lanes_count()
  local c = redis.call('HMGET', P .. 'lanen', 'g0', 'g1', 'g2', 'g3', 'held', 'parked')
  local n = 0
  for k = 1, 6 do n = n + (tonumber(c[k]) or 0) end
  return n
end

local function pending_count()
  local n = lanes_count()
  for p = 0, 3 do n = n + redis.call('LLEN', P .. 'pending:' .. p) end
  if legacy_pending() then n = n + redis.call('ZCARD', P .. 'pending') end
  return math.max(0, n - redis.call('SCARD', P .. 'ghosts'))
end

-- Whether a popped or listed pending entry is no longer a pending job's: its record says
-- otherwise (cancelled, or moved on by some other path), or it was a cancelled job's whose
-- record the history bound has since deleted. Reads only; whoever takes such an entry out of
-- its list calls drop_stale.
local function stale_entry(id, status, exists)
  if exists then return status ~= nil and status ~= false and status ~= 'pending' end
  return redis.call('SISMEMBER', P .. 'ghosts', id) == 1
end

local function drop_stale(id)
  redis.call('SREM', P .. 'ghosts', id)
end

-- A pending page's parts, each {length(), range(a, n) oldest first, range newest first}.
local function list_part(key)
  return {
    function() return redis.call('LLEN', key) end,
    function(a, n) return redis.call('LRANGE', key, a, a + n - 1) end,
    function(a, n)
      local got, out = redis.call('LRANGE', key, -(a + n), -(a + 1)), {}
      for m = #got, 1, -1 do out[#out + 1] = got[m] end
      return out
    end,
  }
end

local function zset_part(key)
  return {
    function() return redis.call('ZCARD', key) end,
    function(a, n) return redis.call('ZRANGE', key, a, a + n - 1) end,
    function(a, n) return redis.call('ZREVRANGE', key, a, a + n - 1) end,
  }
end

-- The side lanes of one kind ('g<p>', 'held', 'parked'), up to `n` of them from the `a`-th,
-- in page order (or its reverse): their parts.
local function side_lanes(kind, a, n, newest)
  local names, out = {}, {}
  if kind == 'held' or kind == 'parked' then
    local index = P .. kind
    if kind == 'parked' then newest = not newest end -- names with the most parked jobs first
    if newest then
      names = redis.call('ZREVRANGE', index, a, a + n - 1)
    else
      names = redis.call('ZRANGE', index, a, a + n - 1)
    end
  else
    local rot = P .. 'gr:' .. string.sub(kind, 2)
    if newest then
      local got = redis.call('LRANGE', rot, -(a + n), -(a + 1))
      for m = #got, 1, -1 do names[#names + 1] = got[m] end
    else
      names = redis.call('LRANGE', rot, a, a + n - 1)
    end
  end
  for k, name in ipairs(names) do
    if kind == 'held' then
      out[k] = zset_part(P .. 'hq:' .. name)
    elseif kind == 'parked' then
      out[k] = zset_part(P .. 'pq:' .. name)
    elseif name == '' then
      out[k] = false -- the main list's turn in the rotation: listed on its own
    else
      out[k] = list_part(P .. 'gq:' .. string.sub(kind, 2) .. ':' .. name)
    end
  end
  return out, #names
end

-- A page reads the lanes of at most this many groups, limit keys and names: past them (a
-- queue with more lanes than this, read deep), it comes back short.
local LANE_WALK = 1000

-- `count` ids of a status from position `first`, in the order pages show: oldest first, or
-- newest first; the other statuses are sorted sets by time. Pending is, for each priority
-- (highest first), an old sorted set's share (see legacy_pending), its main list, then its
-- groups' lanes in turn order; then the held (throttled) jobs by key, then the parked ones by
-- name. Newest first is the same order reversed. A kind of side lane whose total (`lanen`)
-- lies before `first` is skipped without reading it. Pending positions count the entries of
-- cancelled jobs not yet popped (see `stale_entry`), which pages leave out.
local function status_ids(status, first, count, newest)
  if status ~= 'pending' then
    if newest then return redis.call('ZREVRANGE', P .. status, first, first + count - 1) end
    return redis.call('ZRANGE', P .. status, first, first + count - 1)
  end
  local legacy = legacy_pending()
  local totals = redis.call('HMGET', P .. 'lanen', 'g0', 'g1', 'g2', 'g3', 'held', 'parked')
  local kinds = {}
  for p = 3, 0, -1 do
    if legacy then
      local zkey = P .. 'pending'
      local lo, hi = legacy_band(p)
      kinds[#kinds + 1] = {part = {
        function() return redis.call('ZCOUNT', zkey, lo, hi) end,
        function(a, n) return redis.call('ZRANGEBYSCORE', zkey, lo, hi, 'LIMIT', a, n) end,
        function(a, n) return redis.call('ZREVRANGEBYSCORE', zkey, hi, lo, 'LIMIT', a, n) end,
      }}
    end
    kinds[#kinds + 1] = {part = list_part(P .. 'pending:' .. p)}
    kinds[#kinds + 1] = {side = 'g' .. p, total = tonumber(totals[p + 1]) or 0}
  end
  kinds[#kinds + 1] = {side = 'held', total = tonumber(totals[5]) or 0}
  kinds[#kinds + 1] = {side = 'parked', total = tonumber(totals[6]) or 0}
  local ids, walked = {}, 0
  local function take(part)
    local len = part[1]()
    if first >= len then
      first = first - len
      return
    end
    local n = math.min(count, len - first)
    local got = newest and part[3](first, n) or part[2](first, n)
    for _, id in ipairs(got) do ids[#ids + 1] = id end
    count = count - n
    first = 0
  end
  for k = 1, #kinds do
    if count <= 0 then break end
    local kind = kinds[k]
    if newest then kind = kinds[#kinds + 1 - k] end
    if kind.part then
      take(kind.part)
    elseif first >= kind.total then
      first = first - kind.total
    elseif kind.total > 0 then
      local at = 0
      while count > 0 and walked < LANE_WALK do
        local parts, got = side_lanes(kind.side, at, math.min(100, LANE_WALK - walked), newest)
        for _, part in ipairs(parts) do
          if count <= 0 then break end
          if part then take(part) end
        end
        walked, at = walked + got, at + got
        if got == 0 then break end
      end
      if walked >= LANE_WALK then break end
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

-- A control message to one worker: its queue expires a minute after the last message, and
-- holds the newest CONTROL_MAX at most (a worker that stopped reading must not make it grow).
local CONTROL_MAX = 1000
local function send_control(wid, message)
  local ckey = P .. 'control:' .. wid
  if redis.call('RPUSH', ckey, message) > CONTROL_MAX then
    redis.call('LTRIM', ckey, -CONTROL_MAX, -1)
  end
  redis.call('PEXPIRE', ckey, 60000)
end

-- One command over a long list of arguments, in slices Lua can unpack (its C stack holds
-- ~8,000 values): a batch of thousands of jobs must not fail the script. Slices are even, so
-- ZADD's score/member pairs stay together.
local function call_sliced(command, key, values)
  for first = 1, #values, 7000 do
    redis.call(command, key, unpack(values, first, math.min(first + 6999, #values)))
  end
end

-- The helpers of the jobs set aside (routing, limits), built on a call's first use and kept
-- for the rest of it: a helper defined at the top costs every call of every script that
-- carries it its closure (see scripts.py), and most calls never set a job aside.
local FLOW = nil
local function flow()
  if FLOW then return FLOW end
  local F = {}
  function F.lane_score(prio)
    local p = tonumber(prio)
    if p ~= 0 and p ~= 2 and p ~= 3 then p = 1 end
    return (3 - p) * LANE_BAND + redis.call('INCR', P .. 'laneseq')
  end

  -- (routing) Whether `s` is UTF-8 (a name that is not could have no handler: the worker that
  -- claims it reports it as malformed, instead of parking it for a worker that cannot exist).
  function F.utf8_ok(s)
    local i, n = 1, #s
    while i <= n do
      local c, len = string.byte(s, i), 0
      if c < 128 then len = 1
      elseif c >= 194 and c <= 223 then len = 2
      elseif c >= 224 and c <= 239 then len = 3
      elseif c >= 240 and c <= 244 then len = 4
      else return false end
      for k = i + 1, i + len - 1 do
        local d = string.byte(s, k)
        if not d or d < 128 or d > 191 then return false end
      end
      i = i + len
    end
    return true
  end

  -- (routing) Parks a pending job this claim's worker cannot run in its name's lane, until a
  -- worker that has the handler claims it: still pending, no attempt counted, no event.
  function F.park(id, name, prio)
    redis.call('ZADD', P .. 'pq:' .. name, F.lane_score(prio), id)
    redis.call('ZINCRBY', P .. 'parked', 1, name)
    lane_count('parked', 1)
  end

  -- (routing) A parked job leaves its lane's counts.
  function F.unpark(name)
    if tonumber(redis.call('ZINCRBY', P .. 'parked', -1, name)) <= 0 then
      redis.call('ZREM', P .. 'parked', name)
    end
    lane_count('parked', -1)
  end

  -- (limits) The limit key `key` is under: its own, else the longest template that matches it
  -- ('a:b:*', then 'a:*'), else '*'; false for none. A definition is 'concurrency rate per_ms'
  -- (concurrency -1: none; rate 0: none). The result is kept in `memo` for the rest of the
  -- call, and carries the key's state as the call changes it (running, started, holding).
  function F.limit_of(key, memo)
    local lim = memo[key]
    if lim ~= nil then return lim end
    local names = {key}
    for at = #key, 1, -1 do
      if string.byte(key, at) == 58 then names[#names + 1] = string.sub(key, 1, at) .. '*' end
    end
    names[#names + 1] = '*'
    local defs = redis.call('HMGET', P .. 'limits', unpack(names))
    lim = false
    for k = 1, #names do
      if defs[k] then
        local c, r, per = string.match(defs[k], '^(%-?%d+) (%d+) (%d+)$')
        if c then
          lim = {key = key, def = names[k], conc = tonumber(c), rate = tonumber(r),
            per = tonumber(per), started = 0}
        end
        break
      end
    end
    memo[key] = lim
    return lim
  end

  -- Whether one more job under `lim` may start now: fewer than its concurrency running, and
  -- fewer than `rate` starts in the last `per` ms (the starts this call made count; `lrate:<key>`
  -- lists the earlier ones, newest first, as many as the rate).
  function F.has_room(lim)
    if lim.conc >= 0 then
      if not lim.running then lim.running = redis.call('SCARD', P .. 'lrun:' .. lim.key) end
      if lim.running >= lim.conc then return false end
    end
    if lim.rate > 0 then
      local k = lim.rate - 1 - lim.started
      if k < 0 then return false end
      local t = redis.call('LINDEX', P .. 'lrate:' .. lim.key, k)
      if t and tonumber(t) > NOW - lim.per then return false end
    end
    return true
  end

  -- When `lim` may have room next (ms): now, a start's leaving the window, or, while every
  -- slot is taken, a minute from now (a finish or an expired lease under the key moves it to
  -- its own time: free_slot); never ('+inf') while its concurrency is 0 (paused: changing the
  -- limit wakes it).
  function F.ready_at(lim)
    if lim.conc == 0 then return '+inf' end
    local at = NOW
    if lim.conc > 0 then
      if not lim.running then lim.running = redis.call('SCARD', P .. 'lrun:' .. lim.key) end
      if lim.running >= lim.conc then at = NOW + 60000 end
    end
    if lim.rate > 0 then
      local k = lim.rate - 1 - lim.started
      local t = NOW
      if k >= 0 then t = tonumber(redis.call('LINDEX', P .. 'lrate:' .. lim.key, k)) or 0 end
      at = math.max(at, t + lim.per)
    end
    return at
  end

  -- A job under `lim` starts: it holds a slot until it ends (free_slot), and its start counts
  -- against the rate (written by limits_done at the end of the call).
  function F.take_slot(lim, id)
    redis.call('SADD', P .. 'lrun:' .. lim.key, id)
    redis.call('HINCRBY', P .. 'linuse', lim.def, 1)
    if lim.running then lim.running = lim.running + 1 end
    lim.started = lim.started + 1
  end

  -- Holds a job over its limit in its key's lane, marked throttled (the record's 'held' names
  -- the limit), until the limit has room: no attempt counted, no event.
  function F.hold(id, lim, prio)
    redis.call('ZADD', P .. 'hq:' .. lim.key, F.lane_score(prio), id)
    redis.call('HSET', P .. 'job:' .. id, 'held', lim.def)
    redis.call('HINCRBY', P .. 'throttled', lim.def, 1)
    lane_count('held', 1)
    lim.holding = true
  end

  -- (limits) A held job leaves its lane's counts: `def` is the limit that held it (the
  -- record's 'held' field, which marks it throttled until now).
  function F.unhold(id, def)
    if def and def ~= '' then
      redis.call('HDEL', P .. 'job:' .. id, 'held')
      if redis.call('HINCRBY', P .. 'throttled', def, -1) <= 0 then
        redis.call('HDEL', P .. 'throttled', def)
      end
    end
    lane_count('held', -1)
  end

  -- A pending job that is cancelled leaves a held or parked lane at once (a sorted set: O(log n),
  -- and a throttled count must not go on counting it); in a list (main, group) it stays, a
  -- ghost the claim drops (stale_entry). Returns whether it was in such a lane.
  function F.take_aside(id, name, key, held)
    if held and key and redis.call('ZREM', P .. 'hq:' .. key, id) == 1 then
      F.unhold(id, held)
      return true
    end
    if name and redis.call('ZREM', P .. 'pq:' .. name, id) == 1 then
      F.unpark(name)
      return true
    end
    return false
  end

  -- (limits) A running job under limit key `key` ends (finish, or its lease expired): its slot
  -- is given back, and if jobs are held under the key, a worker is woken to take one now.
  -- `def` is the limit it started under (its in-use count). Returns 1 if a worker should wake.
  function F.free_slot(id, key, def)
    if not key or key == '' then return 0 end
    if redis.call('SREM', P .. 'lrun:' .. key, id) == 0 then return 0 end
    if def and def ~= '' and redis.call('HINCRBY', P .. 'linuse', def, -1) <= 0 then
      redis.call('HDEL', P .. 'linuse', def)
    end
    return redis.call('ZADD', P .. 'held', 'XX', 'CH', NOW, key)
  end

  -- The end of a call that started or held jobs under limits: each key's starts are written to
  -- its rate window, and each key whose held lane changed is scored by when it may have room
  -- (`holding`; a key whose lane emptied leaves `held`).
  function F.limits_done(memo)
    for key, lim in pairs(memo) do
      if lim and lim.started > 0 and lim.rate > 0 then
        local rkey, stamps = P .. 'lrate:' .. key, {}
        for k = 1, math.min(lim.started, lim.rate) do stamps[k] = NOW end
        call_sliced('LPUSH', rkey, stamps)
        redis.call('LTRIM', rkey, 0, lim.rate - 1)
        redis.call('PEXPIRE', rkey, lim.per + 1000)
      end
      if lim and lim.holding then
        if redis.call('EXISTS', P .. 'hq:' .. key) == 0 then
          redis.call('ZREM', P .. 'held', key)
          redis.call('ZREM', P .. 'heldx', key)
        else
          redis.call('ZADD', P .. 'held', F.ready_at(lim), key)
          redis.call('ZADD', P .. 'heldx', 0, key)
        end
      end
    end
  end

  FLOW = F
  return F
end

-- (limits) A limit changed: the held keys it covers (all of them for '*', those starting
-- with its prefix for a template, itself for a key) are due now, a thousand per call from
-- after `after`, and as many workers are woken (up to the wake-up cap).
local function wake_held(def, after)
  local keys
  if string.sub(def, -1) == '*' then
    local prefix = string.sub(def, 1, -2)
    local lo, hi = '[' .. prefix, '[' .. prefix .. '\255'
    if prefix == '' then lo, hi = '-', '+' end
    if after ~= '' then lo = '(' .. after end
    keys = redis.call('ZRANGEBYLEX', P .. 'heldx', lo, hi, 'LIMIT', 0, 1000)
  elseif after == '' then
    keys = {def}
  else
    keys = {}
  end
  local woken = 0
  for _, key in ipairs(keys) do woken = woken + redis.call('ZADD', P .. 'held', 'XX', 'CH', NOW, key) end
  wake(woken)
  return #keys, keys[#keys] or ''
end

-- History longer than an hour: submitted, completed and failed per minute, kept a day, and
-- per hour, kept 30 days (history.lua reads them). One hash per kind and hour holds that
-- hour's minutes (fields 0-59, `hm:<kind>:<hour>`), one per kind and day its hours (0-23,
-- `hh:<kind>:<day>`): at most 3 x 25 + 3 x 31 small keys, whatever the rate (62 KiB at their
-- fullest, measured by bench/history_memory.py). A new field (HINCRBY returns the increment) sets its key's expiry, so a call
-- pays two HINCRBYs per kind it counts, and an EXPIREAT once a minute.
local function long_history(submitted, completed, failed)
  local hour, day = math.floor(SEC / 3600), math.floor(SEC / 86400)
  local minute, hour_of_day = math.floor(SEC / 60) % 60, hour % 24
  for kind, value in pairs({s = submitted, c = completed, f = failed}) do
    if value ~= 0 then
      local mkey = P .. 'hm:' .. kind .. ':' .. hour
      if redis.call('HINCRBY', mkey, minute, value) == value then
        redis.call('EXPIREAT', mkey, (hour + 25) * 3600)
      end
      local hkey = P .. 'hh:' .. kind .. ':' .. day
      if redis.call('HINCRBY', hkey, hour_of_day, value) == value then
        redis.call('EXPIREAT', hkey, (day + 31) * 86400)
      end
    end
  end
end

-- Completed and failed attempts per job name since the queue began, for Prometheus and the
-- dashboard: `acc` is {name = {c = n, f = n}}. The hash `names` holds at most ~200 fields
-- (`c:<name>`, `f:<name>`): past that, a new one counts under `other`, so it stays bounded
-- whatever names jobs carry. One HINCRBY per name and kind a call saw.
local function count_names(acc)
  local key = P .. 'names'
  for name, counts in pairs(acc) do
    for kind, value in pairs(counts) do
      local field = kind .. ':' .. name
      if redis.call('HINCRBY', key, field, value) == value and redis.call('HLEN', key) > 202 then
        redis.call('HDEL', key, field)
        redis.call('HINCRBY', key, kind .. ':other', value)
      end
    end
  end
end

-- A job of `name` ended an attempt as `kind` ('c' completed, 'f' failed), for count_names.
local function add_name(acc, name, kind)
  if not name then return end
  local counts = acc[name]
  if not counts then
    counts = {}
    acc[name] = counts
  end
  counts[kind] = (counts[kind] or 0) + 1
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
  long_history(fields.submitted, fields.completed, fields.failed)
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

-- Scripts whose effect a blind retry would repeat or misreport (cancel, retry of dead
-- letters, control messages) take a request id: the reply is kept for a minute under it, and
-- the same call sent again (the engine retrying after a lost reply) gets the first reply back
-- instead of acting twice. '' for none.
local function replayed(rid)
  if rid == '' then return nil end
  local kept = redis.call('GET', P .. 'reply:' .. rid)
  if not kept then return nil end
  return cjson.decode(kept)
end

local function remember(rid, reply)
  if rid ~= '' then redis.call('SET', P .. 'reply:' .. rid, cjson.encode(reply), 'PX', 60000) end
  return reply
end

-- Unique jobs: `unique:<key>` holds {id, until}. The key is held while its job is unfinished,
-- and, if submitted with a window, until the window ends (`until`, ms; 0 for none).
local function unique_holder(ukey)
  local f = hash_fields(P .. 'unique:' .. ukey, 'id', 'until')
  if not f[1] then return nil end
  if (tonumber(f[2]) or 0) > NOW then return f[1] end
  local st = job_status(f[1])
  if st == 'pending' or st == 'scheduled' or st == 'running' or st == 'waiting' then
    return f[1]
  end
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

-- The bounds a script that ends jobs is given at ARGV[i], ARGV[i + 1], ARGV[i + 2]: finished
-- jobs kept per status (completed, cancelled), dead letters kept, and their age limit (ms).
local function bounds_at(i)
  return {history = tonumber(ARGV[i]), dead = tonumber(ARGV[i + 1]),
    dead_ttl = tonumber(ARGV[i + 2])}
end

-- Bounded history: drop the oldest entries (and their records, with their lists of children)
-- past `max` or older than `ttl`.
-- At most 1000 of each per call, so a lowered bound is reached over several calls.
-- Past the queue's ttl a job leaves the list; its record goes too, unless it has a ttl of its
-- own ('rttl', submit_job(result_ttl=)): its own PEXPIRE (finish.lua) ends it, and it stays
-- readable by id until then. The count bound drops the oldest records whatever their ttl.
local function trim_history(zkey, max, ttl_ms)
  if ttl_ms > 0 then
    local old = redis.call('ZRANGEBYSCORE', zkey, '-inf', NOW - ttl_ms, 'LIMIT', 0, 1000)
    for _, id in ipairs(old) do
      local key = P .. 'job:' .. id
      if redis.call('HEXISTS', key, 'rttl') == 0 then redis.call('DEL', key, P .. 'ch:' .. id) end
    end
    if #old > 0 then redis.call('ZREM', zkey, unpack(old)) end
  end
  local extra = redis.call('ZCARD', zkey) - max
  if extra > 0 then
    if extra > 1000 then extra = 1000 end
    local popped = redis.call('ZPOPMIN', zkey, extra)
    for i = 1, #popped, 2 do redis.call('DEL', P .. 'job:' .. popped[i], P .. 'ch:' .. popped[i]) end
  end
end

-- Dead letters past their age or count bound (BackendSettings.dead_ttl, dead_max) are
-- dropped, oldest first, at most 1000 and DROP_BYTES of records per call (freeing a record is
-- the cost: ~12 us for 200 KB). Unlike finished history, each drop is told: a JOB_DROPPED
-- event (the job's id and name, and why) and the `dead_dropped` total, so no dead letter
-- disappears unseen.
local DROP_BYTES = 33554432
local function trim_dead(b)
  local zkey, dropped, freed = P .. 'dead', 0, 0
  local function drop(ids, why)
    local gone = {}
    for _, id in ipairs(ids) do
      if freed >= DROP_BYTES then break end
      local key = P .. 'job:' .. id
      freed = freed + (redis.call('MEMORY', 'USAGE', key, 'SAMPLES', 0) or 0)
      local name = hash_fields(key, 'name')[1]
      redis.call('DEL', key, P .. 'ch:' .. id)
      emit('JOB_DROPPED', id, name, 'failed', why)
      gone[#gone + 1] = id
    end
    if #gone > 0 then call_sliced('ZREM', zkey, gone) end
    dropped = dropped + #gone
  end
  drop(redis.call('ZRANGEBYSCORE', zkey, '-inf', NOW - b.dead_ttl, 'LIMIT', 0, 1000),
    '{"reason":"age","dead_ttl":' .. b.dead_ttl / 1000 .. '}')
  local extra = math.min(redis.call('ZCARD', zkey) - b.dead, 1000 - dropped)
  if extra > 0 and freed < DROP_BYTES then
    drop(redis.call('ZRANGE', zkey, 0, extra - 1), '{"reason":"count","dead_max":' .. b.dead .. '}')
  end
  if dropped > 0 then redis.call('HINCRBY', P .. 'totals', 'dead_dropped', dropped) end
end

-- Expired leases: the worker died or lost contact. Requeue ("stalled"), or after max_stalls
-- dead-letter; a job whose cancellation was requested is cancelled instead. `b` = bounds_at.
-- Returns how many leases expired, and the jobs of workflows it ended, nil for none:
-- {id, status, kids, feed, gen} each, for the caller to hand to wf().ended.
local function recover(limit, max_stalls, b)
  local expired = redis.call('ZRANGEBYSCORE', P .. 'running', '-inf', NOW, 'LIMIT', 0, limit)
  local requeued, cancelled, dead, woken = 0, 0, 0, 0
  local names = {}
  local ended = nil
  for _, id in ipairs(expired) do
    redis.call('ZREM', P .. 'running', id)
    local key = P .. 'job:' .. id
    if redis.call('TYPE', key).ok == 'hash' then
      local f = redis.call('HMGET', key, 'name', 'priority', 'cancel', 'worker', 'unique',
        'limit', 'group', 'kids', 'feed', 'gen')
      if f[6] then woken = woken + flow().free_slot(id, f[6], redis.call('HGET', key, 'ldef')) end
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
        release_unique(id, f[5])
        cancelled = cancelled + 1
        emit('JOB_CANCELLED', id, f[1], 'cancelled', data)
        if f[8] or f[9] then
          ended = ended or {}
          ended[#ended + 1] = {id, 'cancelled', f[8], f[9], f[10]}
        end
      elseif stalls >= max_stalls then
        local err = cjson.encode({type = etype,
          message = why or ('stalled ' .. stalls .. ' times: its worker stopped heartbeating')})
        redis.call('HSET', key, 'status', 'failed', 'finished_at', NOW_S, 'error', err)
        redis.call('ZADD', P .. 'dead', NOW, id)
        release_unique(id, f[5])
        dead = dead + 1
        add_name(names, f[1], 'f')
        emit('JOB_FAILED', id, f[1], 'failed', cjson.encode({reason = 'stalled', stalls = stalls,
          will_retry = false, error_type = etype, error = why or ('stalled ' .. stalls .. ' times')}))
        if f[8] or f[9] then
          ended = ended or {}
          ended[#ended + 1] = {id, 'failed', f[8], f[9], f[10]}
        end
      else
        redis.call('HSET', key, 'status', 'pending')
        -- First in line again: it was taken from the front.
        push_pending(lane_key(f[2], f[7]), {id}, true)
        emit('JOB_REQUEUED', id, f[1], 'pending', data)
        requeued = requeued + 1
      end
    end
  end
  if #expired > 0 then
    totals({cancelled = cancelled, dead = dead, requeued = requeued})
    stat({failed = dead})
    count_names(names)
    if cancelled > 0 then trim_history(P .. 'cancelled', b.history, 0) end
    if dead > 0 then trim_dead(b) end
  end
  wake(requeued + woken)
  return #expired, ended
end

-- A job hash for a page (list, search) or a detail view (peek), with its values bounded in
-- bytes: a console needs a row, not a 100 MB result, and a page of 500 jobs with 100 KB args
-- must not copy 50 MB out of Redis in one call. `cap` is the caller's largest value (0: none);
-- `budget.left` is what the call may still copy (PAGE_BYTES to begin with). A value is read
-- while it fits both; past them, a value over PAGE_FLOOR bytes is left out, named as
-- '__omitted:<field>' with its size. A record that fits whole is read in one HGETALL.
local PAGE_BYTES, PAGE_FLOOR = 2097152, 256
local function page_fields(key, cap, budget)
  -- The record's whole size (an upper bound of any value's) decides most records at once.
  local size = redis.call('MEMORY', 'USAGE', key, 'SAMPLES', 0) or 0
  if size <= budget.left and (cap <= 0 or size <= cap) then
    budget.left = budget.left - size
    return redis.call('HGETALL', key)
  end
  local out = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local size = redis.call('HSTRLEN', key, f)
    if (cap > 0 and size > cap) or size > math.max(PAGE_FLOOR, budget.left) then
      out[#out + 1] = '__omitted:' .. f
      out[#out + 1] = tostring(size)
    else
      out[#out + 1] = f
      out[#out + 1] = redis.call('HGET', key, f)
      budget.left = budget.left - size
    end
  end
  return out
end
