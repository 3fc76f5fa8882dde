"""Every Redis key jobdeck uses is built here.

One queue's keys share the hash tag `{queue}`, so each Lua script touches a single Redis
Cluster slot; the prefix lets several applications (or test runs) share one server.
"""

from __future__ import annotations

import re

__all__ = ["STATUS_KEYS", "key_prefix", "validate_name"]

#: The key (under a queue's prefix) that indexes the jobs in each status; dead letters live
#: in `dead`. The memory engine names its sets the same way.
STATUS_KEYS = {
    "pending": "pending",
    "scheduled": "scheduled",
    "running": "running",
    "completed": "completed",
    "failed": "dead",
    "cancelled": "cancelled",
    "waiting": "waiting",
    "expired": "expired",
}

_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def validate_name(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(
            f"{kind}: 1-64 characters of letters, digits, '_', '.', ':' or '-', got {value!r}"
        )
    return value


def key_prefix(prefix: str, queue: str) -> str:
    """`jobdeck:{default}:` — append `pending`, `job:<id>`, `events`, ... to it."""
    return f"{validate_name('prefix', prefix)}:{{{validate_name('queue', queue)}}}:"
