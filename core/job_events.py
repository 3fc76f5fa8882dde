"""One job's events, read back from the queue's event log: every attempt, failure and retry,
a retry from the dead letters, the schedule that queued it, what its handler emitted, as
they happened (the dashboard's job page shows these, not a story rebuilt from the record).

No per-job index is kept, so submit, claim and finish stay as cheap as they are. The log's
ids carry the time on the same clock as the record's `created_at` and `finished_at` (both
are written by the scripts), so the read starts at the job's creation and, for a finished
job, stops past its finish; in between it reads at most `budget` entries per call and hands
back where to resume. The log is capped: `trimmed` says when some of the job's lifetime has
already been dropped from it. Progress reports are left out (a handler may send thousands;
the record keeps the latest).
"""

from __future__ import annotations

from dataclasses import dataclass

from .backend import Backend
from .events import Event, Events, event_key
from .models import JobDefinition

__all__ = ["JobEvents", "check_budget", "job_events"]

_STEP = 1000  # entries per read of the log
_SLACK_MS = 1  # a finished job's last event has its `finished_at` (same script, same clock)


@dataclass(frozen=True, slots=True)
class JobEvents:
    """A step of a job's events, oldest first. `next` is where the following step resumes
    (pass it back as `after`): None when the read is over (a finished job's finish was
    passed); for a job still under way, a later call with `after=next` returns what happened
    since. `more`: the budget ran out before the log's end, so call again at once.
    `trimmed`: events from the job's lifetime were dropped by the log's cap before this
    read, so its earliest ones are missing."""

    events: list[Event]
    next: str | None
    more: bool
    trimmed: bool
    scanned: int


def check_budget(budget: object) -> int:
    if isinstance(budget, bool) or not isinstance(budget, int) or not 1 <= budget <= 100_000:
        raise ValueError(f"budget: expected 1-100000 log entries, got {budget!r}")
    return budget


async def job_events(
    backend: Backend, job: JobDefinition, after: str | None, budget: int
) -> JobEvents:
    created_ms = round(job.created_at * 1000)
    start = after if after is not None else f"{max(0, created_ms - 1)}-0"
    event_key(start)  # ValueError naming `after` if it is not an event id
    trimmed = after is None and event_key(await backend.trimmed_through()) >= (created_ms, 0)
    finished = job.status.is_terminal and job.finished_at is not None
    end_ms = round((job.finished_at or 0) * 1000) + _SLACK_MS if finished else None
    found: list[Event] = []
    cursor, scanned = start, 0
    while scanned < budget:
        want = min(_STEP, budget - scanned)
        batch = await backend.read_events(cursor, want, 0.001)
        for event in batch:
            if end_ms is not None and event_key(event.id)[0] > end_ms:
                return JobEvents(found, None, False, trimmed, scanned)
            scanned += 1
            cursor = event.id
            if event.job_id == job.id and event.type != Events.JOB_PROGRESS:
                found.append(event)
        if len(batch) < want:  # the log's end: a live job's next events will come after it
            return JobEvents(found, None if finished else cursor, False, trimmed, scanned)
    return JobEvents(found, cursor, True, trimmed, scanned)
