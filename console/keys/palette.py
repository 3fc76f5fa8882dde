"""ctrl+p: Textual's command palette, with what the console can do.

- every action that applies where the operator is, through Textual's own
  `SystemCommandsProvider` (the app's `get_system_commands` lists them, with "Theme");
- `JobsProvider`: "go to job <id>", an id or its first characters, found by the server's
  search (one small bounded step per query);
- `QueuesProvider`: "switch queue", the queues `JobService.list_queues()` finds under the
  prefix (just this one if the service cannot list them), read through `QueueNames`: that
  listing scans the whole keyspace, so it is shared and kept, never one per keystroke.
Everything a hit shows that comes from data (names, ids) is made safe by `display_text`
and never parsed as markup.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

from textual.app import SystemCommand
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from jobdeck.core.text import display_text

from ..live.limits import ROW_FIELD_BYTES
from .actions import MUTATING
from .bindings import APP_BINDINGS, MAIN_BINDINGS, PALETTE

__all__ = ["ACTION_COMMANDS", "JobsProvider", "QueueNames", "QueuesProvider", "action_commands"]

# (title, help, action) for the palette, from the bindings (their tooltip is the help);
# an action is offered only where it applies.
ACTION_COMMANDS: tuple[tuple[str, str, str], ...] = (
    *(
        (b.description, b.tooltip, b.action)
        for b in APP_BINDINGS
        if isinstance(b, Binding) and b.tooltip
    ),
    *(
        (b.description, b.tooltip, f"screen.{b.action}")
        for b in MAIN_BINDINGS
        if isinstance(b, Binding) and b.tooltip
    ),
    *PALETTE,
)
_ID_LIKE = re.compile(r"^[0-9A-Za-z_.:-]{4,128}$")


def action_commands(app: Any, screen: Any) -> Iterator[SystemCommand]:
    """The palette's action commands that apply on `screen` (where it was opened)."""
    for title, help_text, action in ACTION_COMMANDS:
        name = action.removeprefix("screen.").partition("(")[0]
        if action.startswith("screen."):
            if not app.main.applies(name, on_top=screen is app.main):
                continue
        elif name in MUTATING:
            if app.read_only or not app.actions.applies(name, app.where(screen)):
                continue
        elif not hasattr(app, f"action_{name}"):
            continue
        yield SystemCommand(title, help_text, partial(app.run_action, action))


def safe(text: str, limit: int = 80) -> Content:
    """Data as palette text: made safe, never markup."""
    return Content(display_text(text, limit=limit))


class JobsProvider(Provider):
    """ "go to job <id>": opens the job's detail screen."""

    async def search(self, query: str) -> Hits:
        text = query.strip()
        if text.lower().startswith("job "):
            text = text[4:].strip()
        elif text.lower().startswith("go to job "):
            text = text[10:].strip()
        if not _ID_LIKE.match(text):
            return
        app: Any = self.app
        try:
            page = await app.service.search_jobs(
                text, limit=8, budget=2000, max_field_bytes=ROW_FIELD_BYTES
            )
        except Exception:  # the palette must not fail on a server that does not answer
            return
        for job in page.jobs:
            if not job.id.lower().startswith(text.lower()):
                continue
            title = f"Go to job {job.id}"
            yield Hit(
                1.0 if job.id == text else 0.8,
                safe(title, 160),
                partial(app.open_detail, job.id, job.name),
                text=title,
                help=escape(display_text(f"{job.name} · {job.status.value}", limit=80)),
            )

    async def discover(self) -> Hits:
        yield DiscoveryHit(
            "Go to job…", self._hint, help="Type an id (or its first characters) here"
        )

    def _hint(self) -> None:
        self.app.notify("Type a job id (or its first characters) in the palette")


class QueueNames:
    """The queues under the service's prefix, for "switch queue".

    Listing them is one read of the prefix's registry (a SCAN of the whole keyspace for data
    written before it: 1-3 s at 1,000,000 jobs). The palette searches on every keystroke, so
    one listing is shared by every search that asks while it runs, and kept `ttl` seconds. A
    failed listing is not kept: the console's own queue stands in until one succeeds."""

    def __init__(
        self, service: Any, *, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.service, self.ttl, self.clock = service, ttl, clock
        self.listings = 0  # listings started (tests count them)
        self._names: list[str] | None = None
        self._read_at = -math.inf
        self._reading: asyncio.Future[list[str]] | None = None

    async def get(self) -> list[str]:
        if self._names is not None and self.clock() - self._read_at < self.ttl:
            return self._names
        if self._reading is None:
            self.listings += 1
            self._reading = asyncio.ensure_future(self._read())
        # A search the palette drops (the next keystroke) leaves the listing running.
        return await asyncio.shield(self._reading)

    def forget(self) -> None:
        """The next search lists again (the server went away: what it holds may change)."""
        self._names = None

    async def _read(self) -> list[str]:
        lister: Callable[[], Any] | None = getattr(self.service, "list_queues", None)
        try:
            if lister is None:
                return [self.service.queue]
            names = list(await lister()) or [self.service.queue]
        except Exception:
            return [self.service.queue]
        finally:
            self._reading = None
        self._names, self._read_at = names, self.clock()
        return names


class QueuesProvider(Provider):
    """ "switch queue": reopens the console on another queue of the same server."""

    async def _queues(self) -> list[str]:
        app: Any = self.app
        names: QueueNames = app.queue_names
        if app.state.connection != "connected":
            # The server is away: asking it would wait out the client's retries (~7 s of an
            # empty palette). Offer this queue now; list again once it is back.
            names.forget()
            return [app.service.queue]
        return await names.get()

    async def _hits(self) -> AsyncIterator[tuple[str, str, Callable[[], None]]]:
        app: Any = self.app
        for queue in await self._queues():
            here = queue == app.service.queue
            title = f"Switch queue: {queue}" + (" (this one)" if here else "")
            yield title, queue, partial(app.switch_queue, queue)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        async for title, queue, command in self._hits():
            score = matcher.match(title)
            if score > 0:
                help_text = escape(display_text(f"Open the console on queue {queue}"))
                yield Hit(score, matcher.highlight(title), command, text=title, help=help_text)

    async def discover(self) -> Hits:
        async for title, _, command in self._hits():
            yield DiscoveryHit(safe(title), command, text=title)
