"""The in-process engine: the Lua scripts' state machine over dicts and sorted lists.

Nothing to install and nothing to run, for tests, demos and single-process apps; the contract
suite (tests/test_backend_contract.py) holds it to the Redis backend's observable behaviour.
Every method does its whole transition before its first `await`, so it is atomic on the event
loop the way a script is atomic in Redis. Clock values are `time.time()` in integer
milliseconds, like the scripts' `NOW`, so scores, leases and the stored `"%.3f"` times agree.

Several services in one process open one store with `MemoryBackend.shared(name)`, as several
processes open one Redis. A store is not thread-safe: use it from one thread (any number of
event loops, one after another, is fine).

`backend` holds `MemoryBackend`, the whole contract in one class; it hands its `Lib` (`lib`: the
mirror of `_lib.lua`) to one function per Lua script in `jobs`, `leases`, `workers`, `events`,
`search`, `schedules`, `flow` (limits), `workflows`, `expiry`, `family`. `store` holds the data
structures, `lanes` the side lanes of pending jobs (groups, parked) and `throttle` the limits
with the jobs they hold; `clock` is the one clock they read.
"""

from __future__ import annotations

from .backend import MemoryBackend

__all__ = ["MemoryBackend"]
