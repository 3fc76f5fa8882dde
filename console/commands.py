"""ctrl+p: Textual's command palette, with what the console can do.

- every action that applies where the operator is, through Textual's own
  `SystemCommandsProvider` (the app's `get_system_commands` lists them, with "Theme");
- `JobsProvider`: "go to job <id>", an id or its first characters, found by the server's
  search (one small bounded step per query);
- `QueuesProvider`: "switch queue", the queues `JobService.list_queues()` finds under the
  prefix (just this one if the service cannot list them).
Everything a hit shows that comes from data (names, ids) is made safe by `display_text`
and never parsed as markup.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

from jobdeck.core.text import display_text

from .actions import MUTATING
from .limits import ROW_FIELD_BYTES

__all__ = ["ACTION_COMMANDS", "JobsProvider", "QueuesProvider", "action_commands"]

# (title, help, action) for the palette; an action is offered only where it applies.
ACTION_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Pending", "Tab 1: pending and scheduled jobs", "show_tab('pending')"),
    ("Running", "Tab 2: running jobs", "show_tab('running')"),
    ("Dead letter", "Tab 3: failed for good", "show_tab('dead')"),
    ("Workers", "Tab 4: worker processes", "show_tab('workers')"),
    ("History", "Tab 5: completed and cancelled", "show_tab('history')"),
    ("Cancel", "Cancel the selected job(s)", "cancel"),
    ("Retry", "Retry the selected dead letter(s)", "retry"),
    ("Retry all", "Retry every dead letter", "retry_all"),
    ("Purge", "Delete finished jobs of this tab", "purge"),
    ("Pause queue", "Workers stop taking new jobs", "pause"),
    ("Resume queue", "Workers take jobs again", "resume"),
    ("Scale up", "One slot more for the selected worker", "scale(1)"),
    ("Scale down", "One slot less for the selected worker", "scale(-1)"),
    ("Set slots", "Set the selected worker's slots", "set_count"),
    ("Search", "Search the server: name, id, args, error", "screen.filter"),
    ("Select all", "Select every row (matching the filter)", "screen.mark_all"),
    ("Time mode", "Rewind: the queue as it was, from the event log", "rewind"),
    ("Charts", "Throughput, failures and times over the last hour", "charts"),
    ("Help", "Every key", "help"),
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


class QueuesProvider(Provider):
    """ "switch queue": reopens the console on another queue of the same server."""

    async def _queues(self) -> list[str]:
        app: Any = self.app
        lister: Callable[[], Any] | None = getattr(app.service, "list_queues", None)
        if lister is None:
            return [app.service.queue]
        try:
            return list(await lister()) or [app.service.queue]
        except Exception:
            return [app.service.queue]

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
