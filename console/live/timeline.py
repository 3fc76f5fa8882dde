"""What happened to recently active jobs, for the detail screen's timeline.

At a thousand events a second this is the console's one growing structure, so it is bounded
(the most recently active `jobs`, the last `per_job` steps of each) and holds plain tuples
of atoms, which the garbage collector stops tracking, instead of event objects.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from jobdeck.core.codec import dumps
from jobdeck.core.events import Event, Events
from jobdeck.core.models import JobDefinition

from ..format import duration, priority_label

__all__ = ["Step", "Timeline", "describe_event", "timeline_entries"]

Step = tuple[float, str, str]  # (timestamp, event type, what happened)


class Timeline:
    def __init__(self, jobs: int = 5000, per_job: int = 30) -> None:
        self._jobs: OrderedDict[str, tuple[Step, ...]] = OrderedDict()
        self._max_jobs, self._per_job = jobs, per_job

    def add(self, event: Event) -> None:
        if not event.job_id or event.type == Events.JOB_PROGRESS:
            return
        step = (event.timestamp, str(event.type), describe_event(event))
        steps = self._jobs.pop(event.job_id, ())
        self._jobs[event.job_id] = (*steps[-(self._per_job - 1) :], step)
        if len(self._jobs) > self._max_jobs:
            self._jobs.popitem(last=False)

    def get(self, job_id: str) -> list[Step]:
        return list(self._jobs.get(job_id, ()))


def describe_event(event: Event) -> str:
    data, kind = event.data, event.type
    if kind == Events.JOB_SUBMITTED:
        text = f"submitted ({event.status}"
        if isinstance(data.get("priority"), int):
            text += f", priority {priority_label(data['priority'])}"
        if data.get("delay"):
            text += f", delay {duration(float(data['delay']))}"
        return text + ")"
    if kind == Events.JOB_STARTED:
        return f"started on {data.get('worker', '?')} (attempt {data.get('attempt', '?')})"
    if kind == Events.JOB_COMPLETED:
        runtime = data.get("runtime")
        return "completed" + (f" in {duration(float(runtime))}" if runtime is not None else "")
    if kind == Events.JOB_FAILED:
        text = f"failed: {data.get('error_type', 'Error')}: {data.get('error', '')}".rstrip(": ")
        if data.get("will_retry"):
            return text + f" (retry in {duration(float(data.get('retry_in') or 0))})"
        return text + " → dead letter"
    if kind == Events.JOB_CANCELLED:
        if data.get("reason") == "parent":  # (workflows) a parent did not complete
            return f"cancelled: {data.get('message') or 'parent ' + str(data.get('parent'))}"
        return f"cancelled ({data.get('was') or data.get('reason') or 'while running'})"
    if kind == Events.JOB_RELEASED:
        return "released: its parents completed"
    if kind == Events.JOB_EXPIRED:
        return f"expired before it started (was {data.get('was') or 'pending'}): it never ran"
    if kind == Events.JOB_REQUEUED:
        reason = data.get("reason")
        if reason == "parent_retried":
            return f"waiting again: its parent {data.get('parent', '?')} was retried"
        if reason == "retry":
            return "retried from the dead-letter queue"
        if reason == "stalled":
            return f"requeued: worker {data.get('worker', '?')} stopped heartbeating"
        return f"handed back to the queue ({reason or 'requeued'})"
    if kind == Events.SCHEDULE_FIRED:
        how = " (triggered by hand)" if data.get("manual") else ""
        return f"queued by schedule {data.get('schedule', '?')}{how}"
    if not isinstance(kind, Events):  # the application's own event (current_job().emit)
        return f"{kind} {_compact(data)}" if data else str(kind)
    return str(kind).lower()


def _compact(data: dict) -> str:
    text = dumps(data).decode(errors="replace")
    return text if len(text) <= 200 else text[:199] + "…"


def timeline_entries(job: JobDefinition, steps: Sequence[Step]) -> list[tuple[float, str]]:
    """What happened to the job: the events the console saw, completed by the timestamps
    the record keeps (for what happened before the console was watching)."""
    entries = [(when, text) for when, _, text in steps]
    seen = {kind for _, kind, _ in steps}
    if job.created_at and "JOB_SUBMITTED" not in seen:
        entries.append((job.created_at, "submitted"))
    if job.started_at and "JOB_STARTED" not in seen:
        entries.append((job.started_at, f"started on {job.worker or '?'} (attempt {job.attempts})"))
    final = {
        "completed": "JOB_COMPLETED",
        "failed": "JOB_FAILED",
        "cancelled": "JOB_CANCELLED",
        "expired": "JOB_EXPIRED",
    }
    kind = final.get(job.status.value)
    if job.finished_at and kind and kind not in seen:
        entries.append((job.finished_at, _final_words(job)))
    if job.status.value == "scheduled" and job.scheduled_for:
        entries.append((job.scheduled_for, "due"))
    return sorted(entries, key=lambda entry: entry[0])


def _final_words(job: JobDefinition) -> str:
    status = job.status.value
    if status == "completed":
        return f"completed in {duration(job.run_time)}"
    if status == "failed" and job.error is not None:
        return f"failed: {job.error.type}: {job.error.message} → dead letter"
    return status
