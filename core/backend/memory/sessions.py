"""Web sign-ins, as `session.lua` and `session_check.lua` keep them: digest -> expiry (ms),
the expired dropped and the earliest-expiring ended past the cap on each sign-in."""

from __future__ import annotations

from . import clock
from .lib import Lib


def open_session(lib: Lib, digest: str, lifetime_ms: int, cap: int) -> int:
    sessions, now = lib.s.sessions, clock.now_ms()
    for expired in [d for d, expires in sessions.items() if expires <= now]:
        del sessions[expired]
    sessions[digest] = now + lifetime_ms
    over = len(sessions) - cap
    if over <= 0:
        return 0
    for ended in sorted(sessions, key=lambda d: (sessions[d], d))[:over]:
        del sessions[ended]
    return over


def session_open(lib: Lib, digest: str) -> bool:
    expires = lib.s.sessions.get(digest)
    return expires is not None and expires > clock.now_ms()


def close_session(lib: Lib, digest: str) -> bool:
    return lib.s.sessions.pop(digest, None) is not None
