"""Sessions of a surface that signs people in (the web dashboard), kept with the queue.

A session's cookie proves who signed in (it is signed), but only the backend knows whether
the session is still open: signing out ends it for every process that serves the queue,
and a restart does not bring it back. The backend stores a digest of each session's token
(never the token), with its expiry, at most `MAX_SESSIONS` per queue: past that, the
sessions expiring first are ended (their people sign in again), so the set has a bound
that fails safe. Each check is one read (`session_check.lua`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from .backend.base import Backend

__all__ = ["MAX_SESSIONS", "Sessions"]

#: The most open sessions one queue keeps (~100 bytes each in Redis: about 1 MB at most).
MAX_SESSIONS = 10_000


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Sessions:
    """Open, check and end sessions by their token (a random string the caller keeps)."""

    def __init__(
        self, backend: Backend, ready: Callable[[], Awaitable[None]], cap: int = MAX_SESSIONS
    ) -> None:
        self._backend, self._ready, self.cap = backend, ready, cap

    async def open(self, token: str, lifetime: float) -> int:
        """Open a session for `lifetime` seconds; returns how many older ones were ended to
        stay within the cap."""
        await self._ready()
        return await self._backend.open_session(
            _digest(token), max(1, int(lifetime * 1000)), self.cap
        )

    async def is_open(self, token: str) -> bool:
        await self._ready()
        return await self._backend.session_open(_digest(token))

    async def close(self, token: str) -> bool:
        """End a session (sign-out); True if it was open."""
        await self._ready()
        return await self._backend.close_session(_digest(token))
