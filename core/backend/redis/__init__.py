"""The distributed engine: every transition is one Lua script, called by SHA.

Scripts live in `core/backend/lua/` as `.lua` files, each prefixed with the part of
`_lib.lua` it uses when loaded. Blocking reads (new-work wake-ups, control messages, the
event log) take their own connections, so they never hold up the scripts a worker sends.

`backend` holds `RedisBackend`, the whole contract in one class; the calls that take more than
one script call are functions by concern, named as the memory engine's (`jobs`, `flow`,
`leases`, `workers`, `schedules`; `server`: the configuration checks); `registry` keeps the
prefix's queue names; `connection` is the transport they call through (connections, retries,
cluster routing), `replies` the readers of the scripts' replies, and `scripts` their loading.
"""

from __future__ import annotations

from ..urls import redact_url
from .backend import RedisBackend

__all__ = ["RedisBackend", "redact_url"]
