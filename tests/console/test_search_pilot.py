"""The `/` filter is a server-side search: it finds a job deep in a long list by argument
text, error text or id prefix, a bounded step per round, and says how far it got."""

from __future__ import annotations

import pytest

from jobdeck.core import JobService

from .conftest import open_console

pytestmark = pytest.mark.slow


def info(c) -> str:
    return str(c.app.query_one("#filter-info").render())


async def test_search_finds_what_the_first_rows_do_not_hold(service: JobService) -> None:
    await service.pause_queue()
    await service.submit_jobs([{"name": "bulk", "args": [n]} for n in range(2_500)])
    needle = await service.submit_job("bulk", ["needle-in-the-haystack"])
    await service.submit_jobs([{"name": "bulk", "args": [n]} for n in range(500)])
    async with open_console(service, scan_limit=500) as c:
        await c.press("slash", *"haystack")
        await c.until(lambda: c.ids("pending") == [needle], timeout=15, what="the deep job")
        await c.until(lambda: info(c) == "1 match", timeout=15, what="the search to end")
        await c.press("escape")
        await c.press("slash", *needle[:8], "enter")  # an id prefix
        await c.until(lambda: c.ids("pending") == [needle], timeout=15, what="found by id")


async def test_search_by_error_text(service: JobService) -> None:
    await service.start_workers(2)
    await service.submit_jobs([{"name": "boom", "args": [f"disk {n} full"]} for n in range(3)])
    odd = await service.submit_job("boom", ["quota exceeded"])
    async with open_console(service) as c:
        await c.press("3")
        await c.until(lambda: len(c.ids("dead")) == 4, what="four dead letters")
        await c.press("slash", *"it went quota", "enter")
        await c.until(lambda: c.ids("dead") == [odd], what="the one whose error matches")
