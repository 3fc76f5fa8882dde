-- Workflows (issue 23): jobs that wait for others, and jobs that expire unstarted. Loaded
-- after _lib.lua, whose helpers it uses; core/workflows.py says what the user sees.
-- Keys under the queue's prefix:
--   waiting    sorted set: the waiting jobs, by submission time (ms)
--   expired    sorted set: the expired jobs, by when they expired (history, bounded)
--   exp        sorted set: unstarted jobs with an `expires`, by that time (ms)
--   kids:<id>  list: the edges to resolve when <id> ends, each a child's id ('<id>#<gen>'
--              for a child brought back <gen> times: an older edge of it is stale); each
--              edge is popped once, in the step that resolves it
--   ch:<id>    list: every child ever linked to <id> (views, and bringing back children
--              that failed because of it); deleted with <id>'s record
--   res:<id>   hash: a completed parent's result ('r') while a child may read it: one field
--              per such child (and '#walk' while its children are resolved); the last
--              child to end deletes it, so the parent's own result_ttl does not matter
--   ua:<id>    string: a long parent list, copied while it is unpinned in steps (read a
--              window at a time)
--   ug:<id>    hash: the record of a job purged unfinished whose long list did not fit its
--              call's bytes, until a step copies the list to ua:<id>
--   wf         list: the steps a call left for later, to keep each call bounded (at most
--              STEP edges or items, and BYTES of parent lists read): 'k <id> <status>'
--              resolve the children of a job that ended; 'l <id> <gen> <byte>' link a
--              waiting job to its parents from that byte of its list; 'U <id> <gen> <ms>'
--              copy its list to ua:<id> (then PEXPIRE its record <ms>, when not 0); 'G
--              <id>' the same from ug:<id>, the record of a job purged unfinished;
--              'u <id> <gen> <byte>' unpin its parents' results; 'v <id> <index>' bring back
--              the children that failed because of it (it was retried). Every claim and
--              heartbeat advances it.
-- Record fields: after (parent ids, space-separated), wait (parents not yet accounted for),
-- feed ('0', '1', 'n': workflows.FEED_*; set on every job with parents), opf (on parent
-- failure, when not 'fail'), rdelay (ms of delay from its release), gen (times brought
-- back), cause (the parent that ended it), kids ('1' once a child was linked), expires (s),
-- np (how many parents: `wait` again when it is brought back).
-- Each resolution is O(1) commands per edge: a child's `wait` counts down, and the edge that
-- takes it to zero releases it, in the same atomic step; an edge is popped once, so a child
-- is released once, and never before its last parent completed.
-- Bounds of one call whatever the data: STEP edges (every item taken costs one at least, a
-- stale one too), BYTES of parent lists read (a list's length is asked first, HSTRLEN, and
-- one that does not fit waits for the next call; the first list of a call is always read, so
-- a call reads at most BYTES and one list, ~1.3 MB at most), and EXPIRE_AT_POP jobs expired
-- by a claim's pops besides its sweep's.
local WF = nil
local function wf()
  if WF then return WF end
  local W = {budget = 0, todo = {}, queued = {}, released = 0, dead = 0, cancelled = 0,
    expired = 0, delayed = 0, inline = 500, popped_expired = 0}
  W.STEP = 500
  W.BYTES = 1048576
  W.bytes = W.BYTES -- left to read in this call
  W.EXPIRE_AT_POP = 100
  local WINDOW = 65536 -- bytes of a ua:<id> copy read at a time

  -- Whether `n` bytes of a list may be read now: the call's first list always may (else a
  -- list longer than BYTES would never be); past the budget, the read waits for a later call.
  local function affords(n)
    if n <= W.bytes or W.bytes == W.BYTES then
      W.bytes = W.bytes - n
      return true
    end
    return false
  end
  W.affords = affords

  -- The length of job `id`'s parent list (0: none, or no such record).
  local function list_length(id)
    local n = redis.pcall('HSTRLEN', P .. 'job:' .. id, 'after')
    return type(n) == 'number' and n or 0
  end

  local function edge_of(id, gen)
    if not gen or gen == '' or gen == '0' then return id end
    return id .. '#' .. gen
  end

  -- What a resolution reads of a child: status, gen, name, opf, kids, unique, expires,
  -- rdelay, priority, group (nil for a record that is not a hash).
  local function child(id)
    local f = redis.pcall('HMGET', P .. 'job:' .. id, 'status', 'gen', 'name', 'opf', 'kids',
      'unique', 'expires', 'rdelay', 'priority', 'group')
    if f.err then return nil end
    return f
  end

  -- A parent's status: nil when it has no record (never submitted here, or deleted).
  local function status_of(id)
    local f = redis.pcall('HMGET', P .. 'job:' .. id, 'status', 'created_at')
    if f.err then return nil end
    return f[1] or (f[2] and 'pending') or nil
  end
  W.status_of = status_of

  -- A completed parent's result, kept for child `cid` until it ends.
  function W.pin(pid, cid)
    local key = P .. 'res:' .. pid
    if redis.call('EXISTS', key) == 0 then
      local r = redis.pcall('HGET', P .. 'job:' .. pid, 'result')
      if type(r) ~= 'string' then r = '' end
      redis.call('HSET', key, 'r', r)
    end
    redis.call('HSET', key, cid, '1')
  end

  function W.unpin(pid, cid)
    local key = P .. 'res:' .. pid
    if redis.call('HDEL', key, cid) == 1 and redis.call('HLEN', key) <= 1 then
      redis.call('DEL', key)
    end
  end

  -- A job ended (completed, failed, cancelled, expired, or 'gone': deleted unfinished): its
  -- children are resolved, and the results it held are let go. `kids`, `parents` and
  -- `expires` are its record's fields (nil: none); `gen` too, read here if not given.
  -- `keep`: the ms its record is to expire in (a completed job), 0 or nil for none. Returns
  -- true when its record's expiry is the work list's to set (its list is copied later).
  function W.ended(id, status, kids, parents, expires, gen, keep)
    if expires then redis.call('ZREM', P .. 'exp', id) end
    if kids then W.todo[#W.todo + 1] = 'k ' .. id .. ' ' .. status end
    if parents then
      gen = gen or redis.pcall('HGET', P .. 'job:' .. id, 'gen')
      return W.unpin_all(id, type(gen) == 'string' and gen or '0', status == 'gone', keep)
    end
    return false
  end

  -- Lets go of the results job `id` held: at once for a short list, else in steps from a
  -- copy (the record may be gone before the steps end). A list past the call's BYTES is
  -- copied by a later step ('U'), unless the record goes in this call (`going`); its record's
  -- expiry (`keep` ms) then waits for that step. Returns whether it was left to that step.
  function W.unpin_all(id, gen, going, keep)
    local n = list_length(id)
    if n == 0 then return false end
    if n <= 24 * W.inline and affords(n) then
      for pid in string.gmatch(redis.call('HGET', P .. 'job:' .. id, 'after'), '%S+') do
        W.unpin(pid, id)
        W.inline = W.inline - 1
      end
      return false
    end
    if affords(n) then
      redis.call('SET', P .. 'ua:' .. id, redis.call('HGET', P .. 'job:' .. id, 'after'))
      W.todo[#W.todo + 1] = 'u ' .. id .. ' ' .. (gen or '0') .. ' 1'
      return false
    end
    if going then -- its caller renames the record ug:<id> instead of deleting it
      W.todo[#W.todo + 1] = 'G ' .. id
      return true
    end
    W.todo[#W.todo + 1] = 'U ' .. id .. ' ' .. (gen or '0') .. ' ' .. (keep or 0)
    return keep ~= nil and keep > 0
  end

  -- A waiting child's parents are all accounted for: it runs (or waits out its delay).
  function W.release(cid, f)
    local key = P .. 'job:' .. cid
    redis.call('ZREM', P .. 'waiting', cid)
    local delay, status = tonumber(f[8]), 'pending'
    if delay and delay > 0 then
      status = 'scheduled'
      redis.call('HSET', key, 'status', status, 'scheduled_for', fmt_s(NOW + delay))
      redis.call('ZADD', P .. 'scheduled', NOW + delay, cid)
      W.delayed = W.delayed + 1
    else
      redis.call('HSET', key, 'status', status)
      queue_for(W.queued, lane_key(f[9], f[10]), cid)
    end
    W.released = W.released + 1
    emit('JOB_RELEASED', cid, f[3], status, '')
  end

  function W.count_down(cid, f)
    if redis.call('HINCRBY', P .. 'job:' .. cid, 'wait', -1) <= 0 then
      W.release(cid, f)
      return true
    end
    return false
  end

  -- A waiting child ends because parent `pid` did not complete (`how`: 'failed', 'was
  -- cancelled', 'expired', 'does not exist').
  function W.end_child(cid, f, status, pid, how)
    local key = P .. 'job:' .. cid
    redis.call('ZREM', P .. 'waiting', cid)
    local message = 'parent ' .. pid .. ' ' .. how
    if status == 'failed' then
      redis.call('HSET', key, 'status', 'failed', 'finished_at', NOW_S, 'cause', pid, 'error',
        cjson.encode({type = 'ParentFailed', message = message}))
      redis.call('ZADD', P .. 'dead', NOW, cid)
      W.dead = W.dead + 1
      emit('JOB_FAILED', cid, f[3], 'failed', cjson.encode({reason = 'parent', parent = pid,
        will_retry = false, error_type = 'ParentFailed', error = message}))
    else
      redis.call('HSET', key, 'status', 'cancelled', 'finished_at', NOW_S, 'cause', pid)
      redis.call('ZADD', P .. 'cancelled', NOW, cid)
      W.cancelled = W.cancelled + 1
      emit('JOB_CANCELLED', cid, f[3], 'cancelled', cjson.encode({reason = 'parent',
        parent = pid, was = 'waiting', message = message}))
    end
    release_unique(cid, f[6])
    W.ended(cid, status, f[5], true, f[7], f[2])
  end

  -- Parent `pid` ended without completing (`ps`: failed, cancelled, expired, gone): the
  -- child's on_parent_failure decides. Returns whether the child stopped waiting.
  function W.parent_down(cid, f, pid, ps)
    if f[4] == 'run' then return W.count_down(cid, f) end
    if ps == 'failed' and f[4] ~= 'cancel' then
      W.end_child(cid, f, 'failed', pid, 'failed')
    elseif ps == 'gone' then
      W.end_child(cid, f, 'cancelled', pid, 'does not exist')
    else
      W.end_child(cid, f, 'cancelled', pid, ps == 'expired' and 'expired' or ('was ' .. ps))
    end
    return true
  end

  -- Child `cid` (record fields `f`, generation `gen`) waits for parent `pid`: accounted
  -- for now if the parent has ended, else an edge on it. Returns whether it stopped waiting.
  function W.link(cid, f, pid, gen)
    local ps = status_of(pid)
    if ps == 'completed' then
      W.pin(pid, cid)
      return W.count_down(cid, f)
    elseif ps == nil or ps == 'failed' or ps == 'cancelled' or ps == 'expired' then
      return W.parent_down(cid, f, pid, ps or 'gone')
    end
    redis.call('RPUSH', P .. 'kids:' .. pid, edge_of(cid, gen))
    if gen == '0' then redis.call('RPUSH', P .. 'ch:' .. pid, cid) end
    redis.call('HSET', P .. 'job:' .. pid, 'kids', '1')
    return false
  end

  -- Brings back child `cid`, a dead letter because of a parent (or retried from the dead
  -- letters): waiting again for those of its parents that have not completed, linked anew
  -- (a new generation: edges of its earlier life are stale). Returns false if its unique
  -- key is another unfinished job's now (it stays dead, as retry_dead keeps such a job).
  function W.revive(cid, name, ukey, kids, why)
    local key = P .. 'job:' .. cid
    if ukey then
      local holder = unique_holder(ukey)
      if holder and holder ~= cid then return false end
      if not holder then redis.call('HSET', P .. 'unique:' .. ukey, 'id', cid, 'until', 0) end
    end
    local np = redis.call('HGET', key, 'np')
    if not np then -- stored before `np`: counted, its bytes charged
      local after = redis.call('HGET', key, 'after') or ''
      W.bytes = W.bytes - #after
      np = select(2, string.gsub(after, '%S+', ''))
    end
    local gen = tostring(redis.call('HINCRBY', key, 'gen', 1))
    redis.call('ZREM', P .. 'dead', cid)
    redis.call('HSET', key, 'status', 'waiting', 'wait', np, 'attempts', 0, 'stalls', 0)
    redis.call('HDEL', key, 'finished_at', 'cause', 'cancel', 'scheduled_for', 'held', 'expires')
    redis.call('DEL', P .. 'ua:' .. cid)
    redis.call('ZADD', P .. 'waiting', NOW, cid)
    emit('JOB_REQUEUED', cid, name, 'waiting', why)
    W.todo[#W.todo + 1] = 'l ' .. cid .. ' ' .. gen .. ' 1'
    if kids then W.todo[#W.todo + 1] = 'v ' .. cid .. ' 0' end
    return true
  end

  -- One step of an item, spending W.budget; returns the item left to do, or nil when done.
  local steps = {}
  function steps.k(id, status)
    if status == 'failed' then
      local now = status_of(id)
      if now and now ~= 'failed' then return nil end -- retried meanwhile: its edges stand
    end
    local want = math.min(W.budget, W.STEP)
    local edges = redis.call('LPOP', P .. 'kids:' .. id, want) or {}
    W.budget = W.budget - #edges
    for _, e in ipairs(edges) do
      local cid, gen = string.match(e, '^([^#]+)#?(%d*)$')
      if gen == '' then gen = '0' end
      local f = cid and child(cid)
      if f and f[1] == 'waiting' and (f[2] or '0') == gen then
        if status == 'completed' then
          W.pin(id, cid)
          W.count_down(cid, f)
        else
          W.parent_down(cid, f, id, status)
        end
      end
    end
    if #edges == want then return 'k ' .. id .. ' ' .. status end
    if status == 'completed' then W.unpin(id, '#walk') end
    return nil
  end

  function steps.l(id, gen, at)
    local f = child(id)
    if not f or f[1] ~= 'waiting' or (f[2] or '0') ~= gen then return nil end
    if not affords(list_length(id)) then
      W.budget = 0 -- the call read its bytes: the next one goes on
      return 'l ' .. id .. ' ' .. gen .. ' ' .. at
    end
    local after = redis.call('HGET', P .. 'job:' .. id, 'after') or ''
    local pos = tonumber(at)
    while W.budget > 0 do
      local s, e = string.find(after, '%S+', pos)
      if not s then return nil end
      pos = e + 1
      W.budget = W.budget - 1
      if W.link(id, f, string.sub(after, s, e), gen) then return nil end
    end
    return 'l ' .. id .. ' ' .. gen .. ' ' .. pos
  end

  -- Whether job `id`'s life `gen` is still the one its item was made for.
  local function same_life(id, gen)
    local cur = redis.pcall('HGET', P .. 'job:' .. id, 'gen')
    return not ((type(cur) == 'string' and cur ~= gen) or (cur == false and gen ~= '0'))
  end

  function steps.U(id, gen, keep)
    local key = P .. 'job:' .. id
    if not same_life(id, gen) then return nil end -- brought back: its new life pins anew
    local n = list_length(id)
    if n > 0 then
      if not affords(n) then
        W.budget = 0
        return 'U ' .. id .. ' ' .. gen .. ' ' .. keep
      end
      redis.call('SET', P .. 'ua:' .. id, redis.call('HGET', key, 'after'))
    end
    if tonumber(keep) > 0 then redis.call('PEXPIRE', key, keep) end
    if n == 0 then return nil end
    return 'u ' .. id .. ' ' .. gen .. ' 1'
  end

  -- A record deleted unfinished (purged) before its long list could be copied: kept as
  -- ug:<id> until this step copies its list (it has no life left to compare: gen 0).
  function steps.G(id)
    local key = P .. 'ug:' .. id
    local n = redis.pcall('HSTRLEN', key, 'after')
    if type(n) ~= 'number' then n = 0 end
    if n > 0 then
      if not affords(n) then
        W.budget = 0
        return 'G ' .. id
      end
      redis.call('SET', P .. 'ua:' .. id, redis.call('HGET', key, 'after'))
    end
    redis.call('DEL', key)
    if n == 0 then return nil end
    return 'u ' .. id .. ' 0 1'
  end

  -- The copy is read WINDOW bytes at a time (an id cut by a window's end is read whole by
  -- the next), each window charged to the call's BYTES.
  function steps.u(id, gen, at)
    local copy = P .. 'ua:' .. id
    local len = redis.call('STRLEN', copy)
    if len == 0 or not same_life(id, gen) then
      return nil -- brought back meanwhile: its new life pins what it needs
    end
    local pos = tonumber(at)
    while W.budget > 0 do
      if pos > len then
        redis.call('DEL', copy)
        return nil
      end
      local want = math.min(WINDOW, len - pos + 1)
      if not affords(want) then
        W.budget = 0
        break
      end
      local chunk = redis.call('GETRANGE', copy, pos - 1, pos + want - 2)
      local last = pos + want - 1 >= len
      local p = 1
      while W.budget > 0 do
        local s, e = string.find(chunk, '%S+', p)
        if not s then
          p = #chunk + 1
          break
        end
        if e == #chunk and not last then
          p = s -- cut by the window: read whole by the next one
          break
        end
        p = e + 1
        W.budget = W.budget - 1
        W.unpin(string.sub(chunk, s, e), id)
      end
      pos = pos + p - 1
    end
    return 'u ' .. id .. ' ' .. gen .. ' ' .. pos
  end

  function steps.v(id, at)
    if status_of(id) == 'failed' then return nil end -- failed again: they stay as they are
    local first = tonumber(at)
    local want = math.min(W.budget, W.STEP)
    local kids = redis.call('LRANGE', P .. 'ch:' .. id, first, first + want - 1)
    W.budget = W.budget - #kids
    for k, cid in ipairs(kids) do
      if W.bytes <= 0 then -- parents counted from lists stored before `np`: stop here
        W.budget = 0
        return 'v ' .. id .. ' ' .. (first + k - 1)
      end
      local f = redis.pcall('HMGET', P .. 'job:' .. cid, 'status', 'cause', 'name', 'unique',
        'kids')
      if not f.err and f[1] == 'failed' and f[2] == id then
        W.revive(cid, f[3], f[4], f[5], cjson.encode({reason = 'parent_retried', parent = id}))
      end
    end
    if #kids < want then return nil end
    return 'v ' .. id .. ' ' .. (first + #kids)
  end

  -- Runs this call's own steps first, then the work list's, until `budget` edges are spent;
  -- what is left goes to the back of the work list. Returns whether work is left.
  function W.run(budget)
    W.budget = budget
    while W.budget > 0 do
      local item = table.remove(W.todo)
      if not item then
        item = redis.call('LPOP', P .. 'wf')
        if not item then break end
      end
      local op, a, b, c = string.match(item, '^(%a) (%S+) ?(%S*) ?(%S*)$')
      local before = W.budget
      local left = op and steps[op] and steps[op](a, b, c)
      if W.budget == before then W.budget = W.budget - 1 end -- a stale item costs a step too
      if left then W.todo[#W.todo + 1] = left end
    end
    if #W.todo > 0 then
      call_sliced('RPUSH', P .. 'wf', W.todo)
      W.todo = {}
    end
    return redis.call('EXISTS', P .. 'wf') == 1
  end

  -- The end of a call that released or ended jobs: released jobs join their pending lists,
  -- workers wake, the totals count; with the call's history bounds (`b`, see bounds_at),
  -- what it ended is trimmed to them.
  function W.flush(b, more)
    push_queued(W.queued, false)
    W.queued = {}
    if W.delayed > 0 then wake(1) end
    wake(W.released - W.delayed + (more and 1 or 0))
    totals({released = W.released, dead = W.dead, cancelled = W.cancelled, expired = W.expired})
    if W.dead > 0 then stat({failed = W.dead}) end
    if b then
      if W.dead > 0 and b.dead then trim_dead(b) end
      if W.cancelled > 0 then trim_history(P .. 'cancelled', b.history, 0) end
      if W.expired > 0 then trim_history(P .. 'expired', b.history, 0) end
    end
    W.released, W.dead, W.cancelled, W.expired, W.delayed = 0, 0, 0, 0, 0
  end

  -- (expired) Job `id`, never started, ends expired. `was`: the status it had; `popped`:
  -- its entry already left its pending list or lane (a claim took it). Returns true.
  function W.expire(id, was, popped)
    local key = P .. 'job:' .. id
    local f = redis.call('HMGET', key, 'name', 'kids', 'expires', 'unique', 'limit', 'held',
      'gen', 'feed')
    if was == 'pending' and not popped then
      -- its entry stays in its list, a ghost the claim drops (see stale_entry)
      if not flow().take_aside(id, f[1], f[5], f[6]) then redis.call('SADD', P .. 'ghosts', id) end
    elseif was == 'scheduled' then
      redis.call('ZREM', P .. 'scheduled', id)
    elseif was == 'waiting' then
      redis.call('ZREM', P .. 'waiting', id)
    end
    if f[6] then redis.call('HDEL', key, 'held') end
    redis.call('HSET', key, 'status', 'expired', 'finished_at', NOW_S)
    redis.call('ZADD', P .. 'expired', NOW, id)
    release_unique(id, f[4])
    W.expired = W.expired + 1
    emit('JOB_EXPIRED', id, f[1], 'expired', '{"was":"' .. was .. '"}')
    redis.call('ZREM', P .. 'exp', id)
    if f[2] then W.todo[#W.todo + 1] = 'k ' .. id .. ' expired' end
    if f[8] then W.unpin_all(id, f[7] or '0', false, nil) end
    return true
  end

  -- (expired) Jobs whose time passed, up to `limit`, end now, wherever they wait: the
  -- counts are right without a claim reaching them. Entries of jobs that started or ended
  -- otherwise are dropped. Returns how many entries it read.
  function W.sweep(limit)
    local due = redis.call('ZRANGEBYSCORE', P .. 'exp', '-inf', NOW, 'LIMIT', 0, limit)
    for _, id in ipairs(due) do
      local st = status_of(id)
      if st == 'pending' or st == 'scheduled' or st == 'waiting' then
        W.expire(id, st, false)
      else
        redis.call('ZREM', P .. 'exp', id)
      end
    end
    return #due
  end

  WF = W
  return W
end

-- (claim) Whether a popped pending job expired before this claim could start it: if so, it
-- ends expired here (SEAMS: ghost -> expired -> not served -> over its limit -> lease).
-- At most EXPIRE_AT_POP of them per claim (the claim then stops as if full, its other popped
-- ids back in front, and wakes a worker to claim again): the sweep ends the rest.
local function expired_at_claim(id, expires)
  if not expires or (tonumber(expires) or 0) * 1000 > NOW then return false end
  local W = wf()
  W.popped_expired = W.popped_expired + 1
  return W.expire(id, 'pending', true)
end
