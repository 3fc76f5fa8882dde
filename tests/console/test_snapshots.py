"""Pictures of the main screens on a scripted queue (frozen clock, seeded ids), at 80x24 and
120x34. `pytest tests/console --snapshot-update` rewrites them after a deliberate change."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from jobdeck.console.app import JobdeckApp
from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend

from .scenario import T0, Scenario, frozen_clock, open_past, settle

pytestmark = pytest.mark.slow

SMALL, WIDE = (80, 24), (120, 34)


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[JobService, dict[str, str]]]:
    service = JobService("memory://snapshots", queue="default")
    with frozen_clock() as clock:
        ids = asyncio.run(Scenario(service, clock).build())
        yield service, ids
    MemoryBackend.forget("snapshots/jobdeck/default")


def app_for(service: JobService, **options: Any) -> JobdeckApp:
    return JobdeckApp(service, clock=lambda: T0, **options)


def after(*keys: str, detail: bool = False):
    """A `run_before`: press `keys` once the data is in, then wait for it to settle."""

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot, *keys, detail=detail)

    return run


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x34"])
@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5"])
def test_tabs(snap_compare, scripted, tab: str, size: tuple[int, int]) -> None:
    service, _ = scripted
    assert snap_compare(app_for(service), terminal_size=size, run_before=after(tab))


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x34"])
def test_detail_of_a_dead_letter(snap_compare, scripted, size: tuple[int, int]) -> None:
    service, _ = scripted
    run = after("3", "enter", detail=True)
    assert snap_compare(app_for(service), terminal_size=size, run_before=run)


def test_help(snap_compare, scripted) -> None:
    service, _ = scripted
    assert snap_compare(app_for(service), terminal_size=SMALL, run_before=after("question_mark"))


def test_confirm_cancel(snap_compare, scripted) -> None:
    service, _ = scripted
    assert snap_compare(app_for(service), terminal_size=SMALL, run_before=after("2", "c"))


def test_filter(snap_compare, scripted) -> None:
    service, _ = scripted
    run = after("slash", "e", "m", "a", "i", "l", "enter")
    assert snap_compare(app_for(service), terminal_size=SMALL, run_before=run)


def test_read_only(snap_compare, scripted) -> None:
    service, _ = scripted
    app = app_for(service, read_only=True)
    assert snap_compare(app, terminal_size=SMALL, run_before=after("3"))


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x34"])
def test_multi_selection(snap_compare, scripted, size: tuple[int, int]) -> None:
    service, _ = scripted
    run = after("1", "down", "space", "down", "shift+down", "shift+down", "down", "space")
    assert snap_compare(app_for(service), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x34"])
def test_palette(snap_compare, scripted, size: tuple[int, int]) -> None:
    service, _ = scripted

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot, "3")
        await pilot.press("ctrl+p", *"retry")
        for _ in range(100):
            await pilot.pause(0.05)
            lists = pilot.app.screen.query("CommandList")
            if lists and lists.first().option_count >= 2:
                break
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.2)

    assert snap_compare(app_for(service), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x34"])
def test_time_mode(snap_compare, scripted, size: tuple[int, int]) -> None:
    service, _ = scripted

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await open_past(pilot, "t")
        await pilot.press("shift+left", "shift+left", "shift+left", "2")
        await pilot.pause(0.3)

    assert snap_compare(app_for(service), terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", [SMALL, WIDE], ids=["80x24", "120x34"])
def test_chart_panel(snap_compare, scripted, size: tuple[int, int]) -> None:
    service, _ = scripted

    async def run(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await open_past(pilot, "m")
        await pilot.pause(0.3)

    assert snap_compare(app_for(service), terminal_size=size, run_before=run)
