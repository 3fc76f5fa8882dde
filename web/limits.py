"""How much a request may send and how slowly: read a body within its size and time bounds.

The gate (`gate.py`) reads an authenticated caller's body with `read_body` before the app
sees the request, so a body over its limit is a 413 whether it came with `Content-Length`
or chunked, and a client that sends it too slowly gets a 408 instead of holding the
connection (and a buffer) forever.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from starlette.types import Receive

from .problems import Problem

__all__ = ["MAX_BODY", "MAX_SIGN_IN_BODY", "BodyLimits", "declared_length", "read_body"]

MAX_BODY = 16 * 1024 * 1024  # a batch of 10,000 jobs with modest arguments fits
MAX_SIGN_IN_BODY = 4096  # {"key": "..."}


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """`max_bytes` for any body; `idle` seconds at most between two chunks; `total` seconds
    at most for the whole body (a trickle of a byte every few seconds is still a slow
    client)."""

    max_bytes: int = MAX_BODY
    idle: float = 10.0
    total: float = 60.0


def too_large(limit: int) -> Problem:
    return Problem(
        413,
        f"the body is larger than this server accepts here ({limit} bytes)",
        field="body",
        headers={"Connection": "close"},
    )


def declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The `Content-Length` a request declares (None if absent or unreadable)."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def read_body(receive: Receive, max_bytes: int, limits: BodyLimits) -> bytes:
    """The whole body, refused (413) as soon as it passes `max_bytes`, and (408) when a
    chunk takes longer than `limits.idle` or the whole longer than `limits.total`."""
    body = bytearray()
    deadline = time.monotonic() + limits.total
    while True:
        wait = min(limits.idle, deadline - time.monotonic())
        try:
            async with asyncio.timeout(max(wait, 0.0)):
                message = await receive()
        except TimeoutError:
            raise Problem(
                408,
                "the body arrived too slowly",
                field="body",
                headers={"Connection": "close"},
            ) from None
        if message["type"] == "http.disconnect":
            raise ClientGone
        body += message.get("body", b"")
        if len(body) > max_bytes:
            raise too_large(max_bytes)
        if not message.get("more_body", False):
            return bytes(body)


class ClientGone(Exception):
    """The client hung up before its body was complete: nothing to answer."""
