"""Events in, state changes out: the incremental half of keeping the console live.

`apply_events` updates counts and the visible windows of the tabs in place wherever an event
says exactly what changed (a row leaves, a progress value moves, a new dead letter lands on
top of its list) and marks a tab *dirty* where it cannot know (a submitted job's place among
100,000 pending ones). The app refetches dirty windows soon after; a periodic reconciliation
catches whatever drifts anyway. Every operation is idempotent, so replaying events onto a
freshly fetched page is safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from jobdeck.core.events import Event, Events, event_key

from .state import ConsoleState, JobRow, TabView

__all__ = ["Effects", "apply_events", "replay_depths", "replay_onto", "source_status"]

_WORKER_EVENTS = (
    Events.JOB_SERVICE_WORKERS_STARTED,
    Events.JOB_SERVICE_WORKERS_STOPPED,
    Events.JOB_SERVICE_WORKERS_SCALED,
    Events.JOB_SERVICE_WORKERS_PAUSED,
    Events.JOB_SERVICE_WORKERS_RESUMED,
)


@dataclass(slots=True)
class Effects:
    """What a batch of events changed, so the app redraws and refetches only that."""

    changed: set[str] = field(default_factory=set)  # tabs whose rows changed in place
    dirty: set[str] = field(default_factory=set)  # tabs whose window must be refetched
    header: bool = False
    workers: bool = False  # the worker list must be refetched
    jobs: set[str] = field(default_factory=set)  # job ids that had events
    connection: str | None = None  # "lost" or "restored"


def apply_events(state: ConsoleState, events: Iterable[Event]) -> Effects:
    effects = Effects()
    for event in events:
        state.events_seen += 1
        _apply_one(state, event, effects)
    return effects


def replay_onto(state: ConsoleState, view: TabView, events: Iterable[Event]) -> None:
    """Apply `events` to one freshly fetched window only: its rows move, but its total (and
    every count) stays as read, since the read may already include these events."""
    effects, total = Effects(), view.total
    for event in events:
        _apply_rows(state, view, event, effects)
    view.total = max(total, view.end)


def _apply_one(state: ConsoleState, event: Event, effects: Effects) -> None:
    kind = event.type
    if kind == Events.CONNECTION_LOST:
        state.connection = "reconnecting"
        state.connection_error = str(event.data.get("error", ""))
        effects.connection = "lost"
        effects.header = True
        return
    if kind == Events.CONNECTION_RESTORED:
        state.connection = "connected"
        state.connection_error = ""
        effects.connection = "restored"
        effects.header = effects.workers = True
        effects.dirty.update(state.views)
        return
    if kind in (Events.QUEUE_PAUSED, Events.QUEUE_RESUMED):
        state.paused = kind == Events.QUEUE_PAUSED
        if state.workers_loaded:
            state.set_workers(state.workers)  # their State column says so
        effects.header = True
        effects.changed.add("workers")
        return
    if kind in _WORKER_EVENTS:
        _apply_worker_event(state, event)
        effects.workers = effects.header = True
        effects.changed.add("workers")
        return
    if kind == Events.JOBS_PURGED:
        _apply_purge(state, event)
        effects.header = True
        effects.dirty.update(("dead", "history", "pending"))
        return
    if event.job_id:
        state.timeline.add(event)
        effects.jobs.add(event.job_id)
    _apply_depths(state, event)
    effects.header = True
    for view in state.views.values():
        if view.key != "workers":
            _apply_rows(state, view, event, effects)


#: The statuses the Pending tab lists (a job moving between them stays in it).
_WAITING = ("pending", "scheduled", "waiting")


def source_status(event: Event) -> str | None:
    """The status a job left in this transition (None: it is new)."""
    kind, data = event.type, event.data
    if kind == Events.JOB_SUBMITTED:
        return None
    if kind == Events.JOB_STARTED:
        return "pending"
    if kind == Events.JOB_CANCELLED:
        return str(data.get("was") or "running")
    if kind == Events.JOB_REQUEUED:
        return "failed" if data.get("reason") in ("retry", "parent_retried") else "running"
    if kind == Events.JOB_FAILED and data.get("reason") == "malformed":
        return "pending"
    if kind == Events.JOB_RELEASED or (
        kind == Events.JOB_FAILED and data.get("reason") == "parent"
    ):
        return "waiting"  # (workflows) its parents completed, or one of them failed
    if kind == Events.JOB_EXPIRED:
        return str(data.get("was") or "pending")
    if kind in (Events.JOB_COMPLETED, Events.JOB_FAILED):
        return "running"
    return None


def replay_depths(state: ConsoleState, events: Iterable[Event]) -> None:
    """Counts just read, then the events applied while they were on their way: those the
    read did not include change the counts again."""
    for event in events:
        if event.type == Events.JOBS_PURGED:
            _apply_purge(state, event)
        elif event.job_id:
            _apply_depths(state, event)


def _apply_purge(state: ConsoleState, event: Event) -> None:
    if _newer_than_depths(state, event):
        status = event.status or ""
        state.depths[status] = max(0, state.depth(status) - int(event.data.get("count", 0)))


def _newer_than_depths(state: ConsoleState, event: Event) -> bool:
    """Whether the counts read last do not include this event yet (an event read with the
    counts, then delivered, must not count twice). Events without a log id always count."""
    try:
        return event_key(event.id) > state.depths_through
    except ValueError:
        return True


def _apply_depths(state: ConsoleState, event: Event) -> None:
    if event.type == Events.JOB_PROGRESS or not _newer_than_depths(state, event):
        return
    source, target = source_status(event), event.status
    if source is not None:
        state.depths[source] = max(0, state.depth(source) - 1)
    if target:
        state.depths[target] = state.depth(target) + 1


def _apply_worker_event(state: ConsoleState, event: Event) -> None:
    worker_id = event.data.get("worker")
    record = state.worker(worker_id) if isinstance(worker_id, str) else None
    if record is None:
        return
    index = state.workers.index(record)
    if event.type == Events.JOB_SERVICE_WORKERS_SCALED:
        concurrency = event.data.get("concurrency")
        if isinstance(concurrency, int):
            state.workers[index] = replace(record, concurrency=concurrency)
    elif event.type in (Events.JOB_SERVICE_WORKERS_PAUSED, Events.JOB_SERVICE_WORKERS_RESUMED):
        paused = event.type == Events.JOB_SERVICE_WORKERS_PAUSED
        state.workers[index] = replace(record, paused=paused)
    elif event.type == Events.JOB_SERVICE_WORKERS_STOPPED:
        del state.workers[index]
    state.set_workers(state.workers)


def _matches(event: Event, needle: str) -> bool:
    return needle in (event.name or "").lower() or needle in (event.job_id or "").lower()


def _row_from_event(event: Event) -> JobRow:
    data = event.data
    row = JobRow(id=event.job_id or "", name=event.name or "?", status=event.status or "")
    if event.type == Events.JOB_STARTED:
        row.started_at = event.timestamp
        row.worker = data.get("worker")
        row.attempts = int(data.get("attempt") or 1)
    else:
        row.finished_at = event.timestamp
        runtime = data.get("runtime")
        row.runtime = float(runtime) if isinstance(runtime, (int, float)) else None
        if event.type == Events.JOB_FAILED:
            row.attempts = int(data.get("attempt") or 0)
            kind, message = data.get("error_type") or "Error", data.get("error") or ""
            row.error = f"{kind}: {message}" if message else str(kind)
    return row


def _remove(view: TabView, job_id: str, effects: Effects) -> None:
    """A job left this tab's list."""
    index = view.index_of(job_id)
    if index is not None:
        del view.rows[index]
        view.total = max(0, view.total - 1)
        effects.changed.add(view.key)
        if not view.reaches_end:
            effects.dirty.add(view.key)  # a row from below must move up into the window
    elif not view.filter:
        view.total = max(0, view.total - 1)
        effects.changed.add(view.key)
        if view.offset > 0:
            effects.dirty.add(view.key)  # it may have been above the window


def _arrive(view: TabView, event: Event, effects: Effects, *, on_top: bool) -> None:
    """A job joined this tab's list: on top (newest first lists) or at the end."""
    job_id = event.job_id or ""
    if view.index_of(job_id) is not None:
        return
    if view.filter:
        if _matches(event, view.filter):
            effects.dirty.add(view.key)
        return
    view.total += 1
    effects.changed.add(view.key)
    if on_top and view.offset == 0:
        view.rows.insert(0, _row_from_event(event))
        del view.rows[view.limit :]
    elif not on_top and view.end == view.total - 1 and len(view.rows) < view.limit:
        view.rows.append(_row_from_event(event))
    else:
        effects.dirty.add(view.key)


def _apply_rows(state: ConsoleState, view: TabView, event: Event, effects: Effects) -> None:
    kind, job_id, key = event.type, event.job_id or "", view.key
    source, target = source_status(event), event.status
    if kind == Events.JOB_PROGRESS:
        index = view.index_of(job_id)
        if index is not None:
            row = view.rows[index]
            fraction = event.data.get("fraction")
            row.fraction = float(fraction) if isinstance(fraction, (int, float)) else row.fraction
            row.message = str(event.data.get("message") or "")
            effects.changed.add(key)
        return
    if key == "pending":
        if source in _WAITING and source != target:
            _remove(view, job_id, effects)
        # A job arriving: its place among the pending ones depends on its priority, so the
        # window is read again (a filtered tab only if the job matches).
        if target in _WAITING and source != target and (
            not view.filter or _matches(event, view.filter)
        ):
            view.total += 0 if view.filter else 1
            effects.changed.add(key)
            effects.dirty.add(key)
    elif key == "running":
        if source == "running":
            _remove(view, job_id, effects)
        if target == "running":
            _arrive(view, event, effects, on_top=False)
    elif key == "dead":
        if source == "failed":
            _remove(view, job_id, effects)
        if target == "failed":
            _arrive(view, event, effects, on_top=True)
    elif key == "history" and target in ("completed", "cancelled", "expired"):
        _arrive(view, event, effects, on_top=True)
