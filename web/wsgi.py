"""jobdeck's API and dashboard inside a WSGI application (Flask, Django, any WSGI host).

    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from jobdeck.web.wsgi import jobdeck_wsgi

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/jobdeck": jobdeck_wsgi(REDIS_URL)})

The app `create_app` builds is ASGI; `jobdeck_wsgi` runs it on an event loop of its own, in
a background thread of each process, and hands it each WSGI request through a2wsgi's
ASGI-to-WSGI adapter. Everything the app does for `jobdeck serve` it does here: the same
gate (credentials checked from the headers before any body byte is read, bounded bodies),
API keys from `JOBDECK_API_KEYS` or a keys file, the dashboard's sign-in cookies (their
path is the mount prefix). The loop and the queue's connections start on the first request
of each process, so a pre-forking server (gunicorn) may create the app before it forks.

A live event stream (`/events`, the dashboard's live updates) holds one WSGI worker thread
for as long as it is open: run the host with threads (Flask's server does; gunicorn
`--worker-class gthread --threads N`). When the client goes, the host closes the response
at its next write (a keep-alive comes every 15 s) and the stream ends.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from jobdeck.core import JobService

from .auth import ApiKeys, Auth

try:
    from a2wsgi import ASGIMiddleware
    from a2wsgi.asgi import ASGIResponder
    from a2wsgi.wsgi_typing import Environ, StartResponse
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError("jobdeck.web.wsgi needs a2wsgi: pip install 'jobdeck[wsgi]'") from exc

__all__ = ["JobdeckWSGI", "jobdeck_wsgi"]


def jobdeck_wsgi(
    url: str | None = None,
    queue: str = "default",
    prefix: str = "jobdeck",
    *,
    auth: Auth | None = None,
    api_keys_file: str | Path | None = None,
    read_only: bool = False,
    open_metrics: bool = False,
    **service_options: Any,
) -> JobdeckWSGI:
    """A WSGI application serving the queue's API under `/api/v1` and the dashboard at `/`
    of wherever it is mounted.

    `auth` None means the keys of `JOBDECK_API_KEYS` and `api_keys_file`, as `jobdeck
    serve` reads them; with none configured this refuses (ValueError) rather than serve the
    queue open inside a larger site: pass `auth=Auth.open()` only behind the host's own
    authentication."""
    if auth is None:
        keys = ApiKeys.from_environment(api_keys_file)
        if not keys:
            raise ValueError(
                "no API keys: set JOBDECK_API_KEYS or pass api_keys_file= (see `jobdeck "
                "api-key new`), or auth=Auth.open() if the host authenticates in front"
            )
        auth = Auth.with_keys(keys)
    return JobdeckWSGI(
        lambda: JobService(url, queue, prefix, **service_options),
        auth=auth,
        read_only=read_only,
        open_metrics=open_metrics,
    )


class JobdeckWSGI:
    """A WSGI callable over `create_app`, with its own event loop thread per process."""

    def __init__(self, make_service: Callable[[], JobService], **app_options: Any) -> None:
        self._make_service = make_service
        self._options = app_options
        self._lock = threading.Lock()
        self._pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._service: JobService | None = None
        self._app: Any = None
        self._adapter: Any = None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        adapter = self._started()
        responder = _Responder(adapter.app, adapter.loop, adapter.wait_time)
        return _Response(responder, responder(environ, start_response), adapter.loop)

    def _started(self) -> Any:
        with self._lock:
            if self._adapter is None or self._pid != os.getpid():
                self._start()
            return self._adapter

    def _start(self) -> None:
        """This process's loop, service and app (a forked child makes its own)."""
        from .app import create_app

        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="jobdeck-wsgi", daemon=True)
        thread.start()
        service = self._make_service()
        asyncio.run_coroutine_threadsafe(service.initialize(), loop).result(30)
        self._app = create_app(service, **self._options)
        self._adapter = ASGIMiddleware(self._app, loop=loop)
        self._loop, self._thread, self._service, self._pid = loop, thread, service, os.getpid()
        atexit.register(self.close)

    def close(self) -> None:
        """Close the queue's connections and stop the loop thread (idempotent)."""
        with self._lock:
            loop, thread, service, app = self._loop, self._thread, self._service, self._app
            if loop is None or thread is None or service is None or self._pid != os.getpid():
                return
            self._loop = self._thread = self._service = self._adapter = None
        atexit.unregister(self.close)

        async def shut() -> None:
            hub = getattr(app.state, "event_hub", None)
            if hub is not None:
                await hub.close()
            await service.close()

        try:
            asyncio.run_coroutine_threadsafe(shut(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)


class _Responder(ASGIResponder):
    """a2wsgi's responder, remembering the request's task so that closing the response (the
    client went away) can end it: a stream would otherwise wait forever to write."""

    task: asyncio.Task[None] | None = None

    async def start_asgi_app(self, environ: Environ) -> asyncio.Task[None]:
        self.task = await super().start_asgi_app(environ)
        return self.task


class _Response:
    """The WSGI response iterable: a2wsgi's chunks, and on `close()` (PEP 3333: the host
    calls it when the response ends, or when writing to a gone client failed) the request's
    task is cancelled if it still runs."""

    def __init__(self, responder: Any, chunks: Iterable[bytes], loop: asyncio.AbstractEventLoop):
        self._responder, self._chunks, self._loop = responder, chunks, loop

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        task = self._responder.task
        if task is not None and not task.done():
            self._loop.call_soon_threadsafe(task.cancel)
