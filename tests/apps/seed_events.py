"""The seed application's event bus, as its code had it: synchronous, `subscribe(type,
callback)` and `publish_simple(type, data, source=...)` and nothing else, with its own
`Events` enum. jobdeck must feed it without being told what it is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Events(str, Enum):  # noqa: UP042 - the seed's own spelling, not jobdeck's StrEnum
    JOB_SUBMITTED = "JOB_SUBMITTED"
    JOB_STARTED = "JOB_STARTED"
    JOB_PROGRESS = "JOB_PROGRESS"
    JOB_COMPLETED = "JOB_COMPLETED"
    JOB_FAILED = "JOB_FAILED"
    JOB_CANCELLED = "JOB_CANCELLED"
    JOB_SERVICE_WORKERS_STARTED = "JOB_SERVICE_WORKERS_STARTED"


@dataclass
class Event:
    event_type: Any
    data: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[Any, list[Callable[[Event], None]]] = {}
        self.published: list[Event] = []

    def subscribe(self, event_type: Any, callback: Callable[[Event], None]) -> None:
        self._subscribers.setdefault(event_type, []).append(callback)

    def publish_simple(
        self, event_type: Any, data: dict[str, Any], source: str | None = None
    ) -> None:
        event = Event(event_type, data, source)
        self.published.append(event)
        for callback in self._subscribers.get(event_type, []):
            callback(event)


_bus: EventBus | None = None


def get_event_bus() -> EventBus:
    global _bus
    if _bus is None:
        _bus = EventBus()
    return _bus


def reset_event_bus() -> None:
    global _bus
    _bus = None
