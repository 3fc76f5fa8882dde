-- Submit a batch with jobs of workflows: submit.lua's, for a batch where a job has parents
-- or an expiry (a plain batch does not carry these helpers: ~8 us a call). ARGV[3] = count,
-- then per job: id, name, priority, delay_ms, unique key ('' for none), unique window ms,
-- group ('' for none), workflow ('' for none, else its expiry in ms from now (0: none) and
-- the ids of its parents, space-separated), nfields, fields.
-- An id that exists already is skipped (explicit ids make submission idempotent): 0. A job
-- whose unique key is held by another job is not created: the holder's id is returned.
-- (workflows) Before anything is written, each parent must be a job of this queue or one
-- earlier in the batch: else nothing is written and the reply is {'!after', position, id}.
local n = tonumber(ARGV[3])
local out = {}
local ready, delayed, waited = 0, 0, 0
local scheduled = P .. 'scheduled'

-- (workflows) The check of the parents, only for a batch that has any.
local flows = false
do
  local i, before = 4, {}
  for j = 1, n do
    local id, spec = ARGV[i], ARGV[i + 7]
    if spec ~= '' and redis.call('EXISTS', P .. 'job:' .. id) == 0 then
      flows = true
      for parent in string.gmatch(string.match(spec, '^%d+ ?(.*)$') or '', '%S+') do
        if not before[parent] and redis.call('EXISTS', P .. 'job:' .. parent) == 0 then
          return {'!after', j, parent}
        end
      end
    end
    before[id] = true
    i = i + 9 + tonumber(ARGV[i + 8])
  end
end

-- Ready jobs enter their priority's pending list (or their group's lane) in one RPUSH at the
-- end, not one command per job: ids by list, in submission order.
local queued = {}
local i = 4
for j = 1, n do
  local id, name, prio = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local delay = tonumber(ARGV[i + 3])
  local ukey, window, group = ARGV[i + 4], tonumber(ARGV[i + 5]), ARGV[i + 6]
  local spec = ARGV[i + 7]
  local nf = tonumber(ARGV[i + 8])
  local key = P .. 'job:' .. id
  local holder = ukey ~= '' and unique_holder(ukey)
  if redis.call('EXISTS', key) == 1 then
    out[j] = 0
  elseif holder then
    out[j] = holder
  else
    local status
    local expires_ms, parents = 0, false
    if spec ~= '' then
      local e, rest = string.match(spec, '^(%d+) ?(.*)$')
      expires_ms, parents = tonumber(e), rest ~= ''
    end
    if parents then
      -- (workflows) waiting for its parents: linked to them below, up to the bound
      status = 'waiting'
      redis.call('HSET', key, 'created_at', NOW_S, unpack(ARGV, i + 9, i + 8 + nf))
      redis.call('ZADD', P .. 'waiting', NOW, id)
      local W = wf()
      W.todo[#W.todo + 1] = 'l ' .. id .. ' 0 1'
      waited = waited + 1
    elseif delay > 0 then
      status = 'scheduled'
      redis.call('HSET', key, 'created_at', NOW_S, 'scheduled_for',
        fmt_s(NOW + delay), unpack(ARGV, i + 9, i + 8 + nf))
      redis.call('ZADD', scheduled, NOW + delay, id)
      delayed = delayed + 1
    else
      status = 'pending'
      redis.call('HSET', key, 'created_at', NOW_S, unpack(ARGV, i + 9, i + 8 + nf))
      queue_for(queued, lane_key(prio, group), id)
      ready = ready + 1
    end
    if expires_ms > 0 then
      redis.call('HSET', key, 'expires', fmt_s(NOW + expires_ms))
      redis.call('ZADD', P .. 'exp', NOW + expires_ms, id)
    end
    if ukey ~= '' then
      local lk = P .. 'unique:' .. ukey
      redis.call('DEL', lk)
      redis.call('HSET', lk, 'id', id, 'until', window > 0 and NOW + window or 0)
      redis.call('HSET', key, 'unique', ukey)
    end
    -- The common case (normal priority, no delay) stores no payload: Event.from_fields reads
    -- an empty JOB_SUBMITTED payload as {"priority": 1, "delay": 0} (~25 bytes less per job).
    local data = ''
    if prio ~= '1' or delay ~= 0 then
      data = '{"priority":' .. prio .. ',"delay":' .. delay / 1000 .. '}'
    end
    emit('JOB_SUBMITTED', id, name, status, data)
    out[j] = 1
  end
  i = i + 9 + nf
end
push_queued(queued, false)
if delayed > 0 then wake(1) end
wake(ready)
totals({submitted = ready + delayed + waited})
stat({submitted = ready + delayed + waited})
-- (workflows) new waiting jobs are linked to their parents (and released if they have all
-- completed), 1000 edges here, the rest in steps from the work list
if flows and WF then WF.flush(nil, WF.run(1000)) end
return out
