-- Wake the held keys limit ARGV[3] covers after key ARGV[4] (see limit_set), a thousand at most.
-- Returns {keys woken, the last key woken}.
local woken, last = wake_held(ARGV[3], ARGV[4])
return {woken, last}
