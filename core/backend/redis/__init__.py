"""The distributed engine: every transition is one Lua script, called by SHA.

Scripts live in `core/backend/lua/` as `.lua` files, each prefixed with the part of
`_lib.lua` it uses when loaded. Blocking reads (new-work wake-ups, control messages, the
event log) take their own connections, so they never hold up the scripts a worker sends.

The engine is split by concern: `scripts` (loading), `engine` (connections and calls),
`jobs`, `leases`, `workers`, `events`.
"""

from __future__ import annotations

from .backend import RedisBackend
from .engine import redact_url

__all__ = ["RedisBackend", "redact_url"]
