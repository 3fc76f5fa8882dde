"""Entry points for `jobdeck console` and `jobdeck demo` (the CLI imports these lazily).

Everything runs on one event loop: connect (an unreachable server is one line on stderr,
never a traceback), start embedded workers if asked, run the app, then stop the workers and
close. While the console owns the terminal, log records are held back and the warnings among
them are printed after it exits, so a worker's log line never scribbles over the screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from redis.exceptions import RedisError

from jobdeck.core.backend.urls import redact
from jobdeck.core.service import JobService
from jobdeck.core.text import display_text

from .live.state import LIVE_REFRESH
from .timemode.past import TIME_MODE_JOBS

__all__ = ["ConsoleOptions", "run_console", "run_demo"]

Setup = Callable[[JobService], Awaitable[Callable[[], Awaitable[None]] | None]]


@dataclass(frozen=True, slots=True)
class ConsoleOptions:
    """How the console looks and what it keeps, from the command line."""

    read_only: bool = False
    refresh: float = LIVE_REFRESH  # seconds between frames of live data
    time_mode_jobs: int = TIME_MODE_JOBS  # jobs the time mode and the charts keep


def run_console(
    service: JobService,
    *,
    read_only: bool = False,
    workers: int | None = None,
    refresh: float = LIVE_REFRESH,
    time_mode_jobs: int = TIME_MODE_JOBS,
) -> int:
    """Open the console on `service`; with `workers`, run that many worker slots in this
    process too (embedded worker mode). Returns the exit code."""
    options = ConsoleOptions(read_only, refresh, time_mode_jobs)
    return _run(service, options, workers=workers)


def run_demo(
    *,
    url: str = "memory://demo",
    workers: int = 4,
    refresh: float = LIVE_REFRESH,
    time_mode_jobs: int = TIME_MODE_JOBS,
) -> int:
    """The console on a demo queue with embedded workers and a stream of demo jobs."""
    from .demo import demo_service, start_demo

    try:
        service = demo_service(url)
    except ValueError as exc:
        print(f"jobdeck: error: {display_text(exc)}", file=sys.stderr)
        return 2
    options = ConsoleOptions(False, refresh, time_mode_jobs)
    return _run(service, options, workers=workers, setup=start_demo, drain=0.0)


def _run(
    service: JobService,
    options: ConsoleOptions,
    *,
    workers: int | None,
    setup: Setup | None = None,
    drain: float = 5.0,
) -> int:
    try:
        return asyncio.run(_console(service, options, workers, setup, drain))
    except KeyboardInterrupt:
        return 130


async def _console(
    service: JobService,
    options: ConsoleOptions,
    workers: int | None,
    setup: Setup | None,
    drain: float,
) -> int:

    try:
        await service.initialize()
    except (RedisError, OSError) as exc:
        reason = redact(str(exc).strip().rstrip(".") or type(exc).__name__, service.url)
        reason = display_text(reason, limit=500)
        if not reason.startswith("cannot reach"):  # the engine's own error may say it already
            reason = f"cannot reach {service.description}: {reason}"
        print(f"jobdeck: error: {reason}. (Try `jobdeck demo` for a local demo.)", file=sys.stderr)
        return 1
    stop_setup = None
    with _held_logs() as held:
        try:
            if workers is not None and service.pool is None:
                await service.start_workers(workers)
            if setup is not None:
                stop_setup = await setup(service)
            code = await _run_apps(service, options, workers)
        finally:
            if stop_setup is not None:
                await stop_setup()
            if service.pool is not None and service.pool.running and drain > 0:
                print(
                    f"jobdeck: stopping embedded workers: {service.pool.running} running "
                    f"job(s) get {drain:g} s to finish, then go back to the queue",
                    file=sys.stderr,
                )
            with contextlib.suppress(RedisError, OSError):
                await service.stop_workers(graceful=drain > 0, timeout=drain)
            with contextlib.suppress(RedisError, OSError):
                await service.close()
    lines = held.lines
    if lines:
        print(f"jobdeck: {len(lines)} warning(s) while the console ran:", file=sys.stderr)
    for line in lines[-15:]:
        print("  " + line, file=sys.stderr)
    return int(code or 0)


async def _run_apps(
    service: JobService, options: ConsoleOptions, workers: int | None
) -> int | None:
    """The console on `service`, then on whichever queue its palette switched to (a sibling
    service of the same server; the embedded workers stay with the first one)."""
    from .app import JobdeckApp

    current = service
    try:
        while True:
            embedded = workers if current is service else None
            app = JobdeckApp(
                current,
                read_only=options.read_only,
                embedded_workers=embedded,
                freeze_gc=True,
                refresh=options.refresh,
                time_mode_jobs=options.time_mode_jobs,
            )
            code = await app.run_async()
            # The next queue opens at the pace the operator set.
            options = replace(options, refresh=app.state.refresh)
            if app.return_code:  # a crash: run_async returns None, the code says 1
                return app.return_code
            if app.next_queue is None:
                return code
            if current is not service:
                await current.close()
            current = service
            if app.next_queue != service.queue:
                current = service.for_queue(app.next_queue)
                try:
                    await current.initialize()
                except (RedisError, OSError) as exc:
                    reason = display_text(str(exc), limit=200)
                    print(
                        f"jobdeck: error: cannot open queue {app.next_queue}: {reason}",
                        file=sys.stderr,
                    )
                    return 1
    finally:
        if current is not service:
            with contextlib.suppress(RedisError, OSError):
                await current.close()


class _Held(logging.Handler):
    """Warnings logged while the console owned the screen, repeats folded into one line."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: dict[str, list[Any]] = {}  # message -> [first time, last time, count]

    def emit(self, record: logging.LogRecord) -> None:
        text = display_text(f"{record.levelname} {record.name}: {record.getMessage()}", limit=500)
        entry = self.seen.pop(text, None) or [record.created, record.created, 0]
        entry[1], entry[2] = record.created, entry[2] + 1
        self.seen[text] = entry  # most recent last
        while len(self.seen) > 200:
            del self.seen[next(iter(self.seen))]

    @property
    def lines(self) -> list[str]:
        out = []
        for text, (first, last, count) in self.seen.items():
            when = time.strftime("%H:%M:%S", time.localtime(first))
            if count > 1:
                when += time.strftime("-%H:%M:%S", time.localtime(last)) + f" ({count}x)"
            out.append(f"{when} {text}")
        return out


@contextlib.contextmanager
def _held_logs() -> Iterator[_Held]:
    """Swap the root logger's terminal handlers for a buffer while the console runs."""
    root = logging.getLogger()
    streams: list[Any] = [
        h
        for h in root.handlers
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
    ]
    held = _Held()
    for handler in streams:
        root.removeHandler(handler)
    root.addHandler(held)
    try:
        yield held
    finally:
        root.removeHandler(held)
        for handler in streams:
            root.addHandler(handler)
