"""Lifecycle events and the in-process bus that fans them out.

Every state change is written to the backend's event log in the same atomic step as the change
itself; `EventBus` is only the last hop, delivering what a process read from that log to local
callbacks. A callback that raises is logged and skipped: one bad subscriber must not silence
the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .codec import loads

__all__ = ["WIRE_CODES", "Event", "EventBus", "EventCallback", "Events", "event_key"]

log = logging.getLogger(__name__)


def event_key(event_id: str) -> tuple[int, int]:
    """A stream id (`1700000000000-0`) as a pair that sorts as the log does. A malformed id
    is refused naming `after`, the argument such ids come in by."""
    ms, _, seq = event_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        raise ValueError(
            f"after: expected an event id like 1700000000000-0, got {event_id!r}"
        ) from None


class Events(StrEnum):
    JOB_SUBMITTED = "JOB_SUBMITTED"
    JOB_STARTED = "JOB_STARTED"
    JOB_PROGRESS = "JOB_PROGRESS"
    JOB_COMPLETED = "JOB_COMPLETED"
    JOB_FAILED = "JOB_FAILED"
    JOB_CANCELLED = "JOB_CANCELLED"
    JOB_REQUEUED = "JOB_REQUEUED"
    JOBS_PURGED = "JOBS_PURGED"
    # reliability: a dead letter dropped by its bound (BackendSettings.dead_max / dead_ttl);
    # status "failed" (where it was), data {"reason": "count"|"age", "dead_max"|"dead_ttl"}
    JOB_DROPPED = "JOB_DROPPED"
    JOB_SERVICE_WORKERS_STARTED = "JOB_SERVICE_WORKERS_STARTED"
    JOB_SERVICE_WORKERS_STOPPED = "JOB_SERVICE_WORKERS_STOPPED"
    JOB_SERVICE_WORKERS_SCALED = "JOB_SERVICE_WORKERS_SCALED"
    # A handler blocked a worker's event loop (data: worker, job_id, job_name, seconds, lease)
    WORKER_LOOP_BLOCKED = "WORKER_LOOP_BLOCKED"
    JOB_SERVICE_WORKERS_PAUSED = "JOB_SERVICE_WORKERS_PAUSED"  # one worker, by control message
    JOB_SERVICE_WORKERS_RESUMED = "JOB_SERVICE_WORKERS_RESUMED"
    QUEUE_PAUSED = "QUEUE_PAUSED"
    QUEUE_RESUMED = "QUEUE_RESUMED"
    SCHEDULE_ADDED = "SCHEDULE_ADDED"
    SCHEDULE_UPDATED = "SCHEDULE_UPDATED"
    SCHEDULE_FIRED = "SCHEDULE_FIRED"
    SCHEDULE_SKIPPED = "SCHEDULE_SKIPPED"  # a missed tick dropped under the "skip" policy
    SCHEDULE_PAUSED = "SCHEDULE_PAUSED"
    SCHEDULE_RESUMED = "SCHEDULE_RESUMED"
    SCHEDULE_REMOVED = "SCHEDULE_REMOVED"
    # Limits (issue 24): a limit set, changed or removed (data: key, concurrency, rate, per,
    # removed); not per job, so no wire code.
    LIMIT_CHANGED = "LIMIT_CHANGED"
    # Workflows (issue 23): a waiting job whose parents are done goes pending (or scheduled,
    # with its delay), status in the entry; a job not started by its `expires` time ends,
    # never run (data: {"was": the status it had}).
    JOB_RELEASED = "JOB_RELEASED"
    JOB_EXPIRED = "JOB_EXPIRED"
    # Not stored: yielded by `JobService.events()` when its connection drops and returns.
    CONNECTION_LOST = "CONNECTION_LOST"
    CONNECTION_RESTORED = "CONNECTION_RESTORED"


#: How the Redis event log spells the types of a job's life, which make most of its entries:
#: the log keeps one entry per pending job, and a 2-byte type instead of a 13-byte name makes
#: an entry ~19 bytes smaller. '*' is outside the characters of a handler's own event type
#: (`JobContext.emit`), so a code never reads as someone's event. The scripts are written
#: with the names; the loader puts the codes in (`backend.redis.scripts`).
WIRE_CODES: dict[str, str] = {
    Events.JOB_SUBMITTED: "*s",
    Events.JOB_STARTED: "*r",
    Events.JOB_PROGRESS: "*p",
    Events.JOB_COMPLETED: "*c",
    Events.JOB_FAILED: "*f",
    Events.JOB_CANCELLED: "*x",
    Events.JOB_REQUEUED: "*q",
    Events.JOB_RELEASED: "*w",
    Events.JOB_EXPIRED: "*e",
}
_FROM_WIRE = {code: Events(name) for name, code in WIRE_CODES.items()}


@dataclass(frozen=True, slots=True)
class Event:
    """One lifecycle step. `id` is the position in the event log: pass it back to
    `JobService.events(after=...)` to resume exactly after this event."""

    type: Events | str
    timestamp: float
    job_id: str | None = None
    name: str | None = None
    status: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    @classmethod
    def from_fields(cls, event_id: str, fields: dict[Any, Any]) -> Event:
        """Decode a log entry; unknown types are kept as plain strings, bad data as {}."""

        def text(key: str) -> str | None:
            raw = fields.get(key.encode(), fields.get(key))
            if raw is None:
                return None
            return raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)

        raw_type = text("t") or "UNKNOWN"
        event_type: Events | str | None = _FROM_WIRE.get(raw_type)
        if event_type is None:
            try:
                event_type = Events(raw_type)
            except ValueError:
                event_type = raw_type
        data: dict[str, Any] = {}
        raw_data = fields.get(b"d", fields.get("d"))
        if raw_data:
            try:
                decoded = loads(raw_data)
                if isinstance(decoded, dict):
                    data = decoded
            except ValueError:
                data = {}
        if not raw_data and event_type == Events.JOB_SUBMITTED:
            # submit.lua leaves the default payload out to keep the capped log small
            data = dict(_SUBMITTED_DEFAULT)
        try:
            stamp = text("ts")
            timestamp = float(stamp) if stamp else int(event_id.split("-", 1)[0]) / 1000
        except ValueError:
            timestamp = 0.0
        return cls(
            type=event_type,
            timestamp=timestamp,
            job_id=text("j") or None,
            name=text("n") or None,
            status=text("s") or _IMPLIED_STATUS.get(event_type),
            data=data,
            id=event_id,
        )


#: What an empty JOB_SUBMITTED payload stands for: normal priority, no delay.
_SUBMITTED_DEFAULT: dict[str, Any] = {"priority": 1, "delay": 0}

#: The status an event of these types leaves its job in, unless the entry says otherwise: the
#: scripts leave it out of the most frequent events, ~8 bytes less per entry of a capped log
#: that holds one such entry per pending job.
_IMPLIED_STATUS: dict[Events | str, str] = {
    Events.JOB_SUBMITTED: "pending",
    Events.JOB_STARTED: "running",
    Events.JOB_COMPLETED: "completed",
}

EventCallback = Callable[[Event], Any]
_ALL = "*"


class EventBus:
    """Synchronous in-process publish/subscribe keyed by event type (or every type)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[EventCallback]] = {}

    def subscribe(self, event_type: Events | str | None, callback: EventCallback) -> None:
        """Call `callback(event)` for each event of `event_type` (None: every event)."""
        key = _ALL if event_type is None else str(event_type)
        self._subscribers.setdefault(key, []).append(callback)

    def unsubscribe(self, event_type: Events | str | None, callback: EventCallback) -> None:
        key = _ALL if event_type is None else str(event_type)
        callbacks = self._subscribers.get(key, [])
        if callback in callbacks:
            callbacks.remove(callback)

    @property
    def has_subscribers(self) -> bool:
        return any(self._subscribers.values())

    def publish(self, event: Event) -> None:
        for key in (str(event.type), _ALL):
            for callback in tuple(self._subscribers.get(key, ())):
                try:
                    callback(event)
                except Exception:
                    log.exception("event subscriber %r failed on %s", callback, event.type)
