"""Loading the Lua scripts: each `.lua` file in `core/backend/lua/`, prefixed with the
part of the shared library it uses (`_lib.lua`, then `_workflows.lua`, which builds on it)."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files
from typing import Any

from ...events import WIRE_CODES
from ..fold import lua_fold_table

__all__ = ["LIBRARIES", "READ_ONLY", "SCRIPTS", "library_source", "script_source"]

SCRIPTS = (
    "submit",
    "submit_flow",
    "claim",
    "finish",
    "progress",
    "heartbeat",
    "cancel",
    "retry_dead",
    "purge",
    "delete",
    "run_now",
    "list",
    "peek",
    "metrics",
    "history",
    "control",
    "workers",
    "pause",
    "emit",
    "unregister",
    "search",
    "job_event",
    "sched_put",
    "sched_due",
    "sched_fire",
    "sched_list",
    "sched_pause",
    "sched_remove",
    "session",
    "session_check",
    "limit_set",
    "limit_wake",
    "limits",
    "family",
    "parents",
)
# Scripts that never write: called with EVALSHA_RO, so a read-only ACL user (a console with
# --read-only) may run them, and Redis itself refuses a write should one ever creep in.
READ_ONLY = frozenset(
    {"list", "peek", "metrics", "history", "workers", "search", "session_check", "limits",
     "family", "parents"}
)
#: The shared helpers, in the order they are defined (a file uses those before it).
LIBRARIES = ("_lib.lua", "_workflows.lua")


def _lua_dir() -> Any:
    return files(__package__.rpartition(".")[0]).joinpath("lua")


@cache
def library_source() -> str:
    """Every helper file, as one text in definition order."""
    return "\n".join(_lua_dir().joinpath(name).read_text() for name in LIBRARIES)


@cache
def script_source(name: str) -> str:
    body = _lua_dir().joinpath(f"{name}.lua").read_text()
    body = body.replace("--[[FOLD_TABLE]]", lua_fold_table())
    return _wire_codes(_prelude_for(library_source(), body) + "\n" + body)


_TYPE_NAME = re.compile("'(" + "|".join(map(re.escape, WIRE_CODES)) + ")'")


def _wire_codes(source: str) -> str:
    """The scripts name event types; the log stores the short codes of `WIRE_CODES`. Every
    quoted name is replaced, so `emit` compares the types it is given in the same spelling."""
    return _TYPE_NAME.sub(lambda m: f"'{WIRE_CODES[m.group(1)]}'", source)


_FUNCTION = re.compile(r"^local function (\w+)\(")
_CALL = re.compile(r"\b(\w+)\(")


def _prelude_for(lib: str, body: str) -> str:
    """The part of `_lib.lua` a script needs: its statements, and only the helper functions
    the script (or a helper it uses) calls. Redis builds every helper's closure on every
    call, so a script that carries all of them pays ~6 us more per call (measured)."""
    always: list[tuple[str | None, list[str]]] = []
    current: list[str] | None = None
    for line in lib.splitlines():
        match = _FUNCTION.match(line)
        if current is None and match:
            current = [line]
            always.append((match.group(1), current))
        elif current is not None:
            current.append(line)
            if line == "end":
                current = None
        else:
            always.append((None, [line]))
    functions = {fname: "\n".join(lines) for fname, lines in always if fname}
    needed: set[str] = set()
    pending = [body, "\n".join("\n".join(lines) for fname, lines in always if fname is None)]
    while pending:
        # One scan per text for every name called in it (a search per helper per text
        # cost a worker ~30 ms of its start-up).
        for fname in sorted(set(_CALL.findall(pending.pop())) & functions.keys() - needed):
            needed.add(fname)
            pending.append(functions[fname])
    return "\n".join(
        "\n".join(lines) for fname, lines in always if fname is None or fname in needed
    )
