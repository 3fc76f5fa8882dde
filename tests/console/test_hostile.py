"""The hostile-string corpus through every field into every console view (issue 9, item 1).

One memory-backend queue holds, for each corpus entry, a pending, a running, a dead and a
finished job whose name, args, kwargs key and value, progress message, error, traceback,
result and worker id carry that entry, and a worker whose id and host carry it. The console
(pilot) then shows each tab, the detail of every job, the confirm dialogs and notifications
that quote names and worker ids. On every screen: no crash, markup shown as literal text, and
no raw control character in what is drawn.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Input

from jobdeck.console.app import JobdeckApp
from jobdeck.console.screens.confirm import ConfirmScreen
from jobdeck.console.screens.detail import DetailScreen
from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend

from ..hostile import MARKUP, STORABLE, assert_markup_literal, assert_no_raw_controls
from .conftest import until
from .hostile_queue import populate

pytestmark = pytest.mark.slow

QUEUE_URL = "memory://hostile-console"


def screen_text(app: JobdeckApp) -> str:
    """What the terminal would be sent for the current screen, without the console's own
    control sequences (cursor moves, colours): any control character left came from data."""
    console = Console(
        width=app.size.width,
        height=app.size.height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text(styles=False)


def plain(renderable: Any, width: int = 158) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), force_terminal=True)
    console.print(renderable)
    return console.export_text(styles=False)


def check(app: JobdeckApp, where: str) -> str:
    text = screen_text(app)
    assert_no_raw_controls(text, where=where)
    return text


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[JobService, dict[str, list[str]]]]:
    service = JobService(QUEUE_URL, queue="hostile")
    await service.initialize()
    ids = await populate(service)
    yield service, ids
    await service.close()
    MemoryBackend.forget("hostile-console/jobdeck/hostile")


async def _show_tab(app: JobdeckApp, pilot: Any, key: str, tab: str, count: int) -> str:
    await pilot.press(key)
    await until(
        pilot,
        lambda: app.state.views[tab].loaded and len(app.state.views[tab].rows) >= count,
        what=f"tab {tab}",
    )
    app.table(tab).refresh()
    await pilot.pause(0.05)
    return check(app, f"tab {tab}")


async def test_every_field_in_every_view(hostile) -> None:
    service, ids = hostile
    app = JobdeckApp(service, reconcile_interval=0.3)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: app.fetches >= 1, what="the first refresh")
        n = len(STORABLE)
        tabs = (("1", "pending"), ("2", "running"), ("3", "dead"), ("4", "workers"))
        for key, tab in (*tabs, ("5", "history")):
            text = await _show_tab(app, pilot, key, tab, n)
            if tab != "workers":
                assert_markup_literal(text, where=f"tab {tab}")
        # The schedules (tab 6): their job names and arguments carry the entries.
        await pilot.press("6")
        await until(
            pilot,
            lambda: getattr(app.screen, "loaded", False) and len(app.screen.rows) >= n,
            what="the schedules",
        )
        await pilot.pause(0.1)
        assert_markup_literal(check(app, "schedules"), where="schedules")
        await pilot.press("escape")
        # The detail of every job, in every state.
        for tab in ("pending", "running", "dead", "history"):
            # The omnibus job (every entry in every field) and a single entry.
            for job_id in (ids[tab][0], ids[tab][-2]):
                app.open_detail(job_id)
                await until(
                    pilot,
                    lambda: isinstance(app.screen, DetailScreen) and app.screen.job is not None,
                    what=f"the detail of a {tab} job",
                )
                await pilot.pause()
                check(app, f"detail of a {tab} job")
                # The whole page, beyond what fits on the screen.
                whole = plain(app.screen.render_job())
                assert_no_raw_controls(whole, where=f"the whole detail of a {tab} job")
                assert "Traceback" in whole or tab != "dead"
                await pilot.press("escape")
                await until(pilot, lambda: not isinstance(app.screen, DetailScreen))
        # Each markup entry in full, in the detail of a dead letter (error and traceback).
        app.open_detail(ids["dead"][0])
        await until(pilot, lambda: getattr(app.screen, "job", None) is not None)
        whole = " ".join(plain(app.screen.render_job()).split())
        for value in MARKUP.values():
            assert value in whole
        await pilot.press("escape")


async def test_dialogs_and_notifications_quote_data_literally(hostile) -> None:
    service, _ = hostile
    app = JobdeckApp(service, reconcile_interval=0.3)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: app.fetches >= 1, what="the first refresh")
        quoted = ("rich-click", "brackets-path")
        for n, (key, text) in enumerate(MARKUP.items()):
            if key not in quoted:
                continue
            # Cancel asks first, quoting the job's name.
            await pilot.press("1")
            await until(pilot, lambda: len(app.state.views["pending"].rows) >= len(STORABLE))
            app.table().cursor = n
            app.table().refresh()
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the dialog")
            await pilot.pause()
            shown = " ".join(check(app, "cancel dialog").split())
            assert " ".join(text.split())[:40] in shown
            await pilot.press("n")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        # A retry's notification quotes the name; scale-to-zero quotes the worker id.
        await pilot.press("3")
        await until(pilot, lambda: len(app.state.views["dead"].rows) >= len(STORABLE))
        await pilot.press("r")
        await until(pilot, lambda: app._notifications, what="a notification")
        await pilot.pause(0.3)
        check(app, "notification")
        await pilot.press("4")
        await until(pilot, lambda: len(app.state.views["workers"].rows) >= len(STORABLE))
        await pilot.press("s")
        await pilot.pause()
        check(app, "count dialog")
        app.screen.query_one(Input).value = "0"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="scale to zero")
        await pilot.pause()
        check(app, "scale dialog")
        for message in ("[bold]x[/] [/data/in, /data/out] \x1b]2;t\x07", "\u202eevil"):
            app.notify(message, title="[@click=app.quit]t[/]", timeout=30)
        await until(
            pilot,
            lambda: "[/data/in, /data/out]" in check(app, "notifications"),
            what="the notification, literally",
        )
