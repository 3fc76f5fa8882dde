"""`create_app` served over real HTTP by uvicorn, on a thread with its own event loop, so a
browser (or any client) can talk to it while the test drives the queue from outside."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from jobdeck.core import JobService

from ..redis_server import free_port


class ServedApp:
    """Start with `start()`; `url` is the base URL (with the mount prefix, ending in /)."""

    def __init__(
        self,
        make_service: Callable[[], JobService],
        make_app: Callable[[JobService], Any],
        *,
        log: logging.Handler | None = None,
        port: int | None = None,
    ) -> None:
        self.make_service, self.make_app = make_service, make_app
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.server: uvicorn.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.service: JobService | None = None
        self.error: BaseException | None = None
        self.log = log
        self._thread = threading.Thread(target=self._run, name="dashboard-server", daemon=True)

    def start(self, timeout: float = 15.0) -> ServedApp:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not (self.server is not None and self.server.started):
            if self.error is not None:
                raise RuntimeError("the server failed to start") from self.error
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not start")
            time.sleep(0.02)
        return self

    def call(self, coro: Any, timeout: float = 10.0) -> Any:
        """Run a coroutine on the server's loop (e.g. a service call) and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        self._thread.join(15)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self.error = exc

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.service = self.make_service()
        await self.service.initialize()
        config = uvicorn.Config(
            self.make_app(self.service),
            host="127.0.0.1",
            port=self.port,
            log_level="info",
            access_log=True,
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        if self.log is not None:
            for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
                logging.getLogger(name).addHandler(self.log)
        try:
            await self.server.serve()
        finally:
            if self.log is not None:
                for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
                    logging.getLogger(name).removeHandler(self.log)
            await self.service.close()
