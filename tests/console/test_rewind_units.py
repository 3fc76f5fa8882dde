"""The rewind's loader and cursor, without an app: `Rewind` is handed the service and a way
to post messages. The stored log and the live feed overlap while it loads: every event is
folded in once; the cursor stays inside what the log holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from textual.message import Message

from jobdeck.console.timemode import Rewind
from jobdeck.core import JobService, WorkerSettings
from jobdeck.core.backend.memory import MemoryBackend


@pytest.fixture
async def service(prefix: str) -> AsyncIterator[JobService]:
    async with JobService(f"memory://{prefix}", queue="q", prefix=prefix) as svc:
        yield svc
    MemoryBackend.forget(f"{prefix}/{prefix}/q")


async def test_the_stored_log_and_the_live_feed_are_folded_in_once(service: JobService) -> None:
    await service.submit_jobs([{"name": "x"}] * 30)
    stored = await service.event_log("0-0", 1000)
    posted: list[Message] = []
    rewind = Rewind(service, posted.append)
    assert not rewind.enter()  # nothing loaded: no time to go to
    rewind.live(stored[-5:])  # the live feed began before the load reached its end
    await rewind.load()
    assert rewind.ready and rewind.history.events == len(stored) == 30
    assert [type(m).__name__ for m in posted] == ["Loaded"]
    assert posted[0].events == len(stored) - 5  # type: ignore[attr-defined]
    rewind.live(stored[-3:])  # the same events again, once loaded: ignored
    assert rewind.history.events == 30


async def test_the_loader_lets_the_event_loop_run_within_a_page(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folding a page of the stored log yields every `_SLICE` seconds: a log of millions of
    events must not hold keys for a page at a time. With a zero slice it yields after every
    event, so another task sees the page half folded, at every step."""
    from jobdeck.console import timemode

    monkeypatch.setattr(timemode, "_SLICE", 0.0)
    await service.submit_jobs([{"name": "x"}] * 40)
    rewind = Rewind(service, lambda message: None)
    seen: set[int] = set()

    async def other() -> None:
        while True:
            seen.add(rewind.history.events)
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await rewind.load()
    task.cancel()
    assert rewind.history.events == 40
    assert len(seen & set(range(1, 40))) >= 30  # one page (40 < _PAGE), seen part-way


async def test_the_cursor_stays_within_the_log(service: JobService) -> None:
    await service.submit_jobs([{"name": "x"}] * 3)
    rewind = Rewind(service, lambda message: None)
    await rewind.load()
    assert not rewind.active and not rewind.jump_burst(1)
    assert rewind.enter() and rewind.active
    first, last = rewind.span()  # type: ignore[misc]
    rewind.step(-3600)
    assert rewind.cursor == first
    rewind.step(+7200)
    assert rewind.cursor == last
    assert not rewind.jump_burst(-1)  # no failures: nowhere to jump, cursor unmoved
    assert rewind.cursor == last
    rewind.leave()
    assert not rewind.active


def test_worker_settings_refuse_a_heartbeat_that_cannot_keep_a_lease() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        WorkerSettings(lease=0)
    with pytest.raises(ValueError, match="must be positive"):
        WorkerSettings(heartbeat_interval=-1)
    with pytest.raises(ValueError, match="at most half the lease"):
        WorkerSettings(lease=4.0, heartbeat_interval=2.5)
    assert WorkerSettings(lease=4.0, heartbeat_interval=2.0).lease == 4.0
