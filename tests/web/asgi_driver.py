"""Drive an ASGI app with a body of our making and see what the app did with it: how many
times it asked for the body, and what it answered (tests of the gate, where httpx's ASGI
transport would hide when the body is read)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Reply:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    reads: int = 0  # how many times the app called receive() for the body

    def json(self) -> Any:
        return orjson.loads(self.body)


async def drive(
    app: Any,
    method: str,
    path: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    chunks: Sequence[bytes] = (),
    chunk_delay: float = 0.0,
    root_path: str = "",
    timeout: float = 10.0,
) -> Reply:
    """One request; the body is `chunks` (sent as separate messages, `chunk_delay` apart),
    then the client waits (it never hangs up on its own)."""
    reply = Reply()
    pending = list(chunks)
    done = asyncio.Event()
    empty_sent = False

    async def receive() -> dict[str, Any]:
        if pending:
            reply.reads += 1
            if chunk_delay:
                await asyncio.sleep(chunk_delay)
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        nonlocal empty_sent
        if not chunks and not empty_sent:
            empty_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            reply.status = message["status"]
            reply.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            reply.body += message.get("body", b"")
            if not message.get("more_body", False):
                done.set()

    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + raw_path,
        "raw_path": (root_path + raw_path).encode(),
        "query_string": query.encode(),
        "root_path": root_path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
    }
    async with asyncio.timeout(timeout):
        await app(scope, receive, send)
    return reply
