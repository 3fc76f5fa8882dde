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
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import Input

from jobdeck.console.app import JobdeckApp
from jobdeck.console.screens.confirm import ConfirmScreen
from jobdeck.console.screens.detail import DetailScreen
from jobdeck.core import JobService
from jobdeck.core.backend.base import Finish, Outcome, ProgressUpdate, WorkerRecord
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.codec import dumps

from ..hostile import LONG, MARKUP, STORABLE, assert_markup_literal, assert_no_raw_controls
from .conftest import until

LEASE = 3600.0
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


async def _submit(service: JobService, name: str, fallback: str, **spec: Any) -> str:
    """Submit; a name the service refuses is replaced (the other fields still carry data)."""
    try:
        return (await service.submit_jobs([{"name": name, **spec}]))[0]
    except ValueError:
        return (await service.submit_jobs([{"name": fallback, **spec}]))[0]


async def _job_in_every_state(
    service: JobService, ids: dict[str, list[str]], key: str, text: str, *, big: Any = None
) -> None:
    """A running, a dead and a finished job whose every field carries `text`, and a worker
    whose id and host do."""
    backend = service.backend
    worker = f"w-{text}"[:120]
    spec = {"args": [text, big], "kwargs": {text[:100]: text}}
    job_id = await _submit(service, text[:200], f"refused-{key}", **spec)
    token = (await backend.claim(worker, 1, LEASE)).jobs[0].token
    await backend.progress([ProgressUpdate(job_id, token, 0.5, text)])
    ids["running"].append(job_id)

    job_id = await _submit(service, text[:200], f"refused-{key}", **spec)
    token = (await backend.claim(worker, 1, LEASE)).jobs[0].token
    error = {"type": text[:100], "message": text, "traceback": f"Traceback:\n  {text}\n{text}"}
    data = {"will_retry": False, "error_type": text, "error": text, "attempt": 1}
    failed = Finish(job_id, token, Outcome.FAILED, dumps(error), event_data=dumps(data))
    await backend.finish(worker, [failed])
    ids["dead"].append(job_id)

    job_id = await _submit(service, text[:200], f"refused-{key}", **spec)
    token = (await backend.claim(worker, 1, LEASE)).jobs[0].token
    done = Finish(job_id, token, Outcome.COMPLETED, dumps({text: [text, big]}), event_data=b"{}")
    await backend.finish(worker, [done])
    ids["history"].append(job_id)

    now = time.time()
    record = WorkerRecord(
        id=worker,
        host=text[:100],
        pid=1,
        queue=service.queue,
        concurrency=2,
        running=1,
        started_at=now,
        last_heartbeat=now,
    )
    await backend.heartbeat(record, [], LEASE)


async def populate(service: JobService) -> dict[str, list[str]]:
    """Per entry, one job in each state (the tables); first, one job in each state that
    carries the whole corpus in every field (the detail views)."""
    ids: dict[str, list[str]] = {"running": [], "dead": [], "history": [], "pending": []}
    everything = " ".join(STORABLE.values())
    await _job_in_every_state(service, ids, "all", everything, big=LONG)
    for key, text in STORABLE.items():
        await _job_in_every_state(service, ids, key, text)
    for key, text in STORABLE.items():
        spec = {"args": [text], "kwargs": {text: text}}
        ids["pending"].append(await _submit(service, text, f"refused-{key}", **spec))
    spec = {"args": [everything, LONG], "kwargs": {everything: everything}}
    ids["pending"].append(await _submit(service, everything[:200], "refused-all", **spec))
    return ids


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
        quoted = ("rich-style", "rich-click", "brackets-path", "brackets-worker")
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
            app.notify(message, title="[@click=app.quit]t[/]")
        await pilot.pause(0.3)
        assert "[/data/in, /data/out]" in check(app, "notifications")
