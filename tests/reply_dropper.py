"""A TCP proxy in front of a test's Redis that loses one reply: once armed with a marker
(a script's SHA), the next command carrying it reaches Redis and runs, and its reply is
thrown away with the connection, as when a network drops between the two. What a client then
does (send the call again) is what the tests look at. `cut()` cuts its clients off Redis
altogether (every connection closed, new ones refused) until `restore()`."""

from __future__ import annotations

import asyncio
import contextlib


class ReplyDropper:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.dropped = 0
        self._marker: bytes | None = None
        self._server: asyncio.Server | None = None
        self._cut = False
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> ReplyDropper:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def arm(self, marker: bytes) -> None:
        """Lose the reply to the next command whose bytes contain `marker`."""
        self._marker = marker

    def cut(self) -> None:
        self._cut = True
        for writer in list(self._open):
            writer.close()

    def restore(self) -> None:
        self._cut = False

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._open.update((writer, up_writer))
        lose_next = asyncio.Event()

        async def upstream() -> None:
            while data := await reader.read(65536):
                if self._marker is not None and self._marker in data:
                    self._marker = None
                    lose_next.set()  # before the command goes: its reply comes after
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if lose_next.is_set():
                    self.dropped += 1
                    return
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            self._open.discard(w)
            with contextlib.suppress(Exception):
                w.close()
