"""Least-privilege Redis ACLs for the three roles that talk to a jobdeck prefix.

Redis checks every command a Lua script runs against the caller's ACL, and cannot tell one
script from another, so the roles are drawn by command category and by key pattern:

- `worker` (and a console that steers: cancel, retry, pause, scale): reads and writes keys
  under the prefix, runs scripts, blocks on the wake-up list and the event log, may cut its
  own wait short (CLIENT UNBLOCK) and read CONFIG for its start-up warnings;
- `submitter`: the same minus blocking commands but XREAD: it submits and reads jobs and
  awaits their results (`result()` follows the event log), but runs no worker;
- `console` (a read-only console, `jobdeck console --read-only`, or a dashboard): reads keys
  under the prefix only (`%R~`), and runs only the read-only scripts (EVALSHA_RO).

No role has dangerous commands (FLUSHALL, KEYS, CONFIG SET, ...), pub/sub channels, or keys
outside the prefix. `jobdeck acl ROLE` prints the rule to paste into `ACL SETUSER`.
"""

from __future__ import annotations

from .keys import validate_name

__all__ = ["ROLES", "acl_rules"]

# Every role: connecting, PING, TIME (every script reads the clock), INFO (is it a cluster?),
# CLUSTER SLOTS (where is my slot?), naming the connection, loading a script a restarted
# server has forgotten, and the read-only scripts.
_COMMON = (
    "+@connection -@dangerous +ping +time +info +client|setname +client|id +select "
    "+cluster|slots +cluster|info +script|load +evalsha_ro"
)
ROLES: dict[str, tuple[str, str]] = {
    "worker": ("~", f"+@read +@write {_COMMON} -function +evalsha +client|unblock +config|get"),
    "submitter": ("~", f"+@read +@write {_COMMON} -function -@blocking +evalsha +xread"),
    "console": ("%R~", f"+@read {_COMMON} -@blocking +xread"),
}


def acl_rules(role: str, prefix: str = "jobdeck") -> str:
    """The ACL rules (after `ACL SETUSER name on >password`) for `role` on `prefix`."""
    if role not in ROLES:
        raise ValueError(f"role: expected one of {', '.join(ROLES)}, got {role!r}")
    keys, commands = ROLES[role]
    return f"resetkeys {keys}{validate_name('prefix', prefix)}:* resetchannels -@all {commands}"
