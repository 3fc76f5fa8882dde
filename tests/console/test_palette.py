"""ctrl+p: the command palette runs actions, goes to a job by id and switches queues."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette

from jobdeck.console.screens.detail import DetailScreen
from jobdeck.core import JobService

from .conftest import make_service, open_console

pytestmark = pytest.mark.slow


def first_hit(c) -> str:
    """The palette's first hit, as text ("" while it searches)."""
    lists = c.app.screen.query("CommandList")
    if not lists or not lists.first().option_count:
        return ""
    return str(lists.first().get_option_at_index(0).prompt)


async def test_palette_runs_an_action_and_goes_to_a_job(service: JobService) -> None:
    await service.pause_queue()
    job_id = await service.submit_job("quick", ["hello"])
    async with open_console(service) as c:
        await c.until(lambda: c.ids("pending") == [job_id])
        await c.press("ctrl+p")
        assert isinstance(c.app.screen, CommandPalette)
        await c.press(*"dead letter")
        await c.pilot.pause(0.3)
        await c.press("enter")
        await c.until(lambda: c.app.state.active == "dead", what="tab 3 from the palette")
        await c.press("ctrl+p", *f"job {job_id[:8]}")
        await c.until(lambda: "Go to job" in first_hit(c), what="the job among the hits")
        await c.press("enter")
        await c.until(lambda: isinstance(c.app.screen, DetailScreen), what="the detail screen")
        assert c.app.screen.job_id == job_id


async def test_palette_switches_queue(service: JobService, monkeypatch) -> None:
    other = service.for_queue("other")
    await other.submit_job("quick")  # the queue now exists under the prefix
    listings = []
    list_queues = service.list_queues

    async def counted() -> list[str]:
        listings.append(1)
        return await list_queues()

    monkeypatch.setattr(service, "list_queues", counted)
    async with open_console(service) as c:
        await c.press("ctrl+p", *"switch queue other")
        await c.pilot.pause(0.5)
        await c.press("enter")
        await c.until(lambda: c.app.next_queue == "other", what="the switch")
    await other.close()
    # Listed once for the palette, not once per keystroke.
    assert len(listings) == 1


async def test_palette_with_the_server_gone(prefix: str) -> None:
    """The server stops answering: the console says so, and the palette still works: the
    queue switcher offers the queue it is on."""
    from ..redis_server import RedisServer

    server = RedisServer().start()
    service = make_service(server.url, prefix)
    await service.initialize()
    other = service.for_queue("other")
    await other.submit_job("quick")
    await other.close()
    try:
        async with open_console(service) as c:
            await c.press("ctrl+p", *"switch queue")
            await c.until(lambda: "other" in first_hit(c), what="the other queue listed")
            await c.press("escape")
            server.kill()
            await c.until(
                lambda: c.app.state.connection == "reconnecting" and c.app.state.connection_error,
                timeout=15,
                what="the console to say the server is gone",
            )
            listings = c.app.queue_names.listings
            await c.press("ctrl+p", *"switch queue")
            await c.until(
                lambda: first_hit(c).startswith("Switch queue"), timeout=15, what="the switcher"
            )
            assert first_hit(c).startswith("Switch queue: q (this one)")
            # offered at once: no listing sent to a server known to be away (it would wait
            # out the client's retries, ~7 s of an empty palette)
            assert c.app.queue_names.listings == listings
            await c.press("escape")
            assert c.app.is_running and c.app.return_code is None
    finally:
        await service.close()
        server.stop()


def hits(c) -> list[str]:
    lists = c.app.screen.query("CommandList")
    if not lists:
        return []
    options = lists.first()
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_go_to_job_offers_only_ids_that_start_with_what_was_typed(
    service: JobService,
) -> None:
    await service.pause_queue()
    await service.submit_job("quick", job_id="report-2026")
    await service.submit_job("report-2026-late", job_id="zz-other")  # its name matches
    async with open_console(service) as c:
        await c.until(lambda: len(c.ids("pending")) == 2)
        await c.press("ctrl+p", *"go to job report-2026")
        await c.until(lambda: "Go to job" in first_hit(c), what="the job among the hits")
        assert [h.splitlines()[0] for h in hits(c)] == ["Go to job report-2026"]
        await c.press("enter")
        await c.until(lambda: isinstance(c.app.screen, DetailScreen), what="the detail screen")
        assert c.app.screen.job_id == "report-2026"
