"""The detail screen's timeline words and the event feed's batching, against written-out
answers: each lifecycle event as the operator reads it, what a record alone tells about the
past, and a broken event stream surfacing in the consumer instead of reading as silence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobdeck.console.live.feed import batched, follow
from jobdeck.console.live.timeline import describe_event, timeline_entries
from jobdeck.core.events import Event, Events
from jobdeck.core.models import JobError, JobStatus, new_job


def ev(kind: Events | str, **data: Any) -> Event:
    return Event(kind, 100.0, "j1", "send", "pending", data)


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (ev(Events.JOB_SUBMITTED), "submitted (pending)"),
        (
            ev(Events.JOB_SUBMITTED, priority=3, delay=90),
            "submitted (pending, priority critical, delay 1m30s)",
        ),
        (ev(Events.JOB_SUBMITTED, priority="3", delay=0), "submitted (pending)"),
        (ev(Events.JOB_STARTED, worker="w1", attempt=2), "started on w1 (attempt 2)"),
        (ev(Events.JOB_STARTED), "started on ? (attempt ?)"),
        (ev(Events.JOB_COMPLETED, runtime=12.5), "completed in 12s"),
        (ev(Events.JOB_COMPLETED), "completed"),
        (
            ev(Events.JOB_FAILED, error_type="KeyError", error="'x'", will_retry=True, retry_in=4),
            "failed: KeyError: 'x' (retry in 4.0s)",
        ),
        (ev(Events.JOB_FAILED, will_retry=True), "failed: Error (retry in 0.0s)"),
        (ev(Events.JOB_FAILED, error_type="Timeout"), "failed: Timeout → dead letter"),
        (ev(Events.JOB_CANCELLED, was="pending"), "cancelled (pending)"),
        (ev(Events.JOB_CANCELLED, reason="shutdown"), "cancelled (shutdown)"),
        (ev(Events.JOB_CANCELLED), "cancelled (while running)"),
        (ev(Events.JOB_REQUEUED, reason="retry"), "retried from the dead-letter queue"),
        (
            ev(Events.JOB_REQUEUED, reason="stalled", worker="w9"),
            "requeued: worker w9 stopped heartbeating",
        ),
        (ev(Events.JOB_REQUEUED, reason="scale"), "handed back to the queue (scale)"),
        (ev(Events.JOB_REQUEUED), "handed back to the queue (requeued)"),
        (
            ev(Events.SCHEDULE_FIRED, schedule="nightly", manual=True),
            "queued by schedule nightly (triggered by hand)",
        ),
        (ev("report.ready"), "report.ready"),
        (ev("report.ready", pages=3), 'report.ready {"pages":3}'),
        (ev("report.ready", text="x" * 300), 'report.ready {"text":"' + "x" * 190 + "…"),
        (ev(Events.QUEUE_PAUSED), "queue_paused"),
    ],
)
def test_each_event_in_words(event: Event, words: str) -> None:
    assert describe_event(event) == words


def test_the_record_fills_in_what_the_console_did_not_see() -> None:
    job = new_job("send")[0].evolve(
        created_at=10.0, started_at=12.0, finished_at=15.5, status=JobStatus.COMPLETED,
        worker="w1", attempts=1,
    )  # fmt: skip
    assert timeline_entries(job, []) == [
        (10.0, "submitted"),
        (12.0, "started on w1 (attempt 1)"),
        (15.5, "completed in 3.5s"),
    ]
    seen = [(12.1, "JOB_STARTED", "started on w2 (attempt 1)"), (9.0, "JOB_SUBMITTED", "s")]
    assert timeline_entries(job, seen) == [
        (9.0, "s"),
        (12.1, "started on w2 (attempt 1)"),
        (15.5, "completed in 3.5s"),
    ]
    seen.append((15.6, "JOB_COMPLETED", "completed"))
    assert [text for _, text in timeline_entries(job, seen)] == [
        "s",
        "started on w2 (attempt 1)",
        "completed",
    ]
    ran_late = job.evolve(scheduled_for=11.0)  # it was due once; it has run since
    assert "due" not in [text for _, text in timeline_entries(ran_late, [])]
    dead = job.evolve(status=JobStatus.FAILED, error=JobError("ValueError", "bad"), worker=None)
    assert timeline_entries(dead, [])[1:] == [
        (12.0, "started on ? (attempt 1)"),
        (15.5, "failed: ValueError: bad → dead letter"),
    ]
    no_error = dead.evolve(error=None)
    assert timeline_entries(no_error, [])[-1] == (15.5, "failed")
    cancelled = job.evolve(status=JobStatus.CANCELLED, started_at=None)
    assert timeline_entries(cancelled, []) == [(10.0, "submitted"), (15.5, "cancelled")]
    due = new_job("send")[0].evolve(created_at=10.0, status=JobStatus.SCHEDULED, scheduled_for=70.0)
    assert timeline_entries(due, []) == [(10.0, "submitted"), (70.0, "due")]
    assert timeline_entries(due.evolve(created_at=0.0, scheduled_for=None), []) == []


async def events_then(events: list[Event], error: Exception | None = None) -> AsyncIterator[Event]:
    for event in events:
        yield event
    if error is not None:
        raise error
    await asyncio.Event().wait()  # a live stream: nothing more for now


async def test_a_broken_stream_raises_in_the_consumer() -> None:
    """The break is raised where the batches are read, not taken for a quiet queue."""
    stream = batched(events_then([], RuntimeError("stream broke")), 0.01)
    with pytest.raises(RuntimeError, match="stream broke"):
        await asyncio.wait_for(anext(stream), 5.0)


async def test_events_read_before_a_break_are_delivered_before_it() -> None:
    burst = [ev(Events.JOB_STARTED, n=i) for i in range(3)]
    stream = batched(events_then(burst, RuntimeError("stream broke")), interval=0.01)
    batch = await asyncio.wait_for(anext(stream), 5.0)
    assert [e.data["n"] for e in batch] == [0, 1, 2]
    with pytest.raises(RuntimeError, match="stream broke"):
        await asyncio.wait_for(anext(stream), 5.0)


async def test_connection_news_is_not_held_back_for_the_interval() -> None:
    stream = batched(events_then([ev(Events.CONNECTION_LOST)]), interval=30.0)
    batch = await asyncio.wait_for(anext(stream), 5.0)
    assert [e.type for e in batch] == [Events.CONNECTION_LOST]
    await stream.aclose()


async def test_a_burst_beyond_the_batch_cap_arrives_whole() -> None:
    burst = [ev(Events.JOB_STARTED, n=i) for i in range(25)]
    stream = batched(events_then(burst), interval=0.05, max_batch=10)
    got: list[Event] = []
    while len(got) < 25:
        got += await asyncio.wait_for(anext(stream), 5.0)
    assert [e.data["n"] for e in got] == list(range(25))
    await stream.aclose()


class Flaky:
    """A service whose event stream breaks once, then works: what a lost server does."""

    def __init__(self) -> None:
        self.calls = 0

    def events(self) -> AsyncIterator[Event]:
        self.calls += 1
        if self.calls == 1:
            return events_then([], ConnectionError("server gone"))
        return events_then([ev(Events.JOB_COMPLETED)])


async def test_follow_reports_a_failure_and_starts_again() -> None:
    service, delivered, failures = Flaky(), [], []
    got = asyncio.Event()

    async def deliver(batch: list[Event]) -> None:
        delivered.append(batch)
        got.set()

    task = asyncio.create_task(follow(service, 0.01, deliver, failures.append))
    try:
        await asyncio.wait_for(got.wait(), 10.0)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert failures == ["ConnectionError: server gone"]
    assert service.calls == 2
    assert [e.type for e in delivered[0]] == [Events.JOB_COMPLETED]
