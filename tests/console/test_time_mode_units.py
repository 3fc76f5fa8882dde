"""The time_mode's loader and cursor, without an app: `TimeMode` is handed the service and a way
to post messages. The stored log and the live feed overlap while it loads: every event is
folded in once; the cursor stays inside what the log holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from textual.message import Message

from jobdeck.console.live.state import ConsoleState
from jobdeck.console.timemode.mode import _WAITING, TimeMode
from jobdeck.console.timemode.past import _STEPS, Past
from jobdeck.core import JobService, WorkerSettings
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.events import Event, Events


@pytest.fixture
async def service(prefix: str) -> AsyncIterator[JobService]:
    async with JobService(f"memory://{prefix}", queue="q", prefix=prefix) as svc:
        yield svc
    MemoryBackend.forget(f"{prefix}/{prefix}/q")


async def test_the_stored_log_and_the_live_feed_are_folded_in_once(service: JobService) -> None:
    await service.submit_jobs([{"name": "x"}] * 30)
    stored = await service.event_log("0-0", 1000)
    posted: list[Message] = []
    time_mode = TimeMode(service, posted.append)
    assert not time_mode.enter()  # nothing loaded: no time to go to
    time_mode.live(stored[:5])  # before the past is asked for, nothing is kept
    assert not time_mode.started and time_mode.past.events == 0
    loading = time_mode.start()
    time_mode.live(stored[-5:])  # the live feed began before the load reached its end
    await loading()
    assert time_mode.ready and time_mode.past.events == len(stored) == 30
    assert [type(m).__name__ for m in posted] == ["Loaded"]
    assert posted[0].events == len(stored) - 5  # type: ignore[attr-defined]
    time_mode.live(stored[-3:])  # the same events again, once loaded: ignored
    assert time_mode.past.events == 30


async def test_the_loader_lets_the_event_loop_run_within_a_page(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folding a page of the stored log yields every `_SLICE` seconds: a log of millions of
    events must not hold keys for a page at a time. With a zero slice it yields after every
    event, so another task sees the page half folded, at every step."""
    from jobdeck.console.timemode import mode as timemode

    monkeypatch.setattr(timemode, "_SLICE", 0.0)
    await service.submit_jobs([{"name": "x"}] * 40)
    time_mode = TimeMode(service, lambda message: None)
    seen: set[int] = set()

    async def other() -> None:
        while True:
            seen.add(time_mode.past.events)
            await asyncio.sleep(0)

    task = asyncio.create_task(other())
    await time_mode.load()
    task.cancel()
    assert time_mode.past.events == 40
    assert len(seen & set(range(1, 40))) >= 30  # one page (40 < _PAGE), seen part-way


async def test_the_cursor_stays_within_the_log(service: JobService) -> None:
    await service.submit_jobs([{"name": "x"}] * 3)
    time_mode = TimeMode(service, lambda message: None)
    await time_mode.load()
    assert not time_mode.active and not time_mode.jump_burst(1)
    assert time_mode.enter() and time_mode.active
    first, last = time_mode.span()  # type: ignore[misc]
    time_mode.step(-3600)
    assert time_mode.cursor == first
    time_mode.step(+7200)
    assert time_mode.cursor == last
    assert not time_mode.jump_burst(-1)  # no failures: nowhere to jump, cursor unmoved
    assert time_mode.cursor == last
    time_mode.leave()
    assert not time_mode.active


# -- the bounds (issue 28, item 2) --------------------------------------------------------
def _jobs(first: int, count: int, t0: float = 1000.0) -> list[Event]:
    """`count` jobs that each run and complete, one a second, ids as Redis writes them."""
    events = []
    for n in range(first, first + count):
        t = t0 + n
        for step, (kind, status) in enumerate(
            (
                (Events.JOB_SUBMITTED, "pending"),
                (Events.JOB_STARTED, "running"),
                (Events.JOB_COMPLETED, "completed"),
            )
        ):
            events.append(Event(kind, t + step / 10, f"j{n}", "x", status, {}, id=f"{n}-{step}"))
    return events


def test_the_history_keeps_at_most_its_jobs_and_nothing_older_than_them() -> None:
    past = Past(jobs=100)
    past.add_all(_jobs(0, 1000))
    assert len(past.lives) <= 105  # the bound and its batch slack
    assert past.let_go >= 895 and "j999" in past.lives and "j0" not in past.lives
    oldest = min(life.seen for life in past.lives.values())
    first, last = past.span()  # type: ignore[misc]
    assert first == oldest and last == 1000.0 + 999 + 0.2
    assert min(past.series) >= int(first) and min(past._deltas) >= int(first)
    assert all(t >= first for ended in past._ended.values() for t, _ in ended)
    assert sum(len(ended) for ended in past._ended.values()) <= len(past.lives)
    # What it holds still rebuilds the past: counts from today's, rows from the jobs held.
    live = ConsoleState(queue="q", server="x")
    live.depths = {"completed": 1000}
    at = past.at(last - 10, live).state
    assert at.depth("completed") == 990
    assert [row.id for row in at.views["history"].rows][:2] == ["j989", "j988"]


def test_a_job_keeps_its_latest_transitions_only() -> None:
    past = Past()
    events = [Event(Events.JOB_SUBMITTED, 1.0, "j", "x", "pending", {}, id="1-0")]
    for n in range(1, 500):  # handed back and started again, without end
        kind, status = (
            (Events.JOB_STARTED, "running") if n % 2 else (Events.JOB_REQUEUED, "pending")
        )
        events.append(Event(kind, 1.0 + n, "j", "x", status, {}, id=f"{n + 1}-0"))
    past.add_all(events)
    life = past.lives["j"]
    assert len(life.times) == len(life.statuses) == _STEPS
    assert life.status_at(500.0)[0] == "running" and life.times[-1] == 500.0


async def test_live_events_waiting_for_the_loader_are_bounded(service: JobService) -> None:
    time_mode = TimeMode(service, lambda message: None)
    time_mode.start()  # (the loader is not run here)
    time_mode.live(_jobs(0, (_WAITING // 3) + 100))  # more than the buffer holds
    assert len(time_mode._waiting) == _WAITING
    assert time_mode._waiting[0].id != "0-0"  # the oldest were dropped: the log has them


def test_worker_settings_refuse_a_heartbeat_that_cannot_keep_a_lease() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        WorkerSettings(lease=0)
    with pytest.raises(ValueError, match="must be positive"):
        WorkerSettings(heartbeat_interval=-1)
    with pytest.raises(ValueError, match="at most half the lease"):
        WorkerSettings(lease=4.0, heartbeat_interval=2.5)
    assert WorkerSettings(lease=4.0, heartbeat_interval=2.0).lease == 4.0
