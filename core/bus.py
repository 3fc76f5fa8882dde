"""Handing jobdeck's events to an application's own event bus.

An application that already has a bus passes it in: `JobService(url, event_bus=app_bus)`.
Every event the service follows (from any process sharing the queue) is then published on it:

- an object with `publish(event_type, event)`: called with the type (an `Events` member, a
  `str` enum, so it matches the application's subscriptions such as
  `app_bus.subscribe(Events.JOB_COMPLETED, handler)`) and the `Event`;
- an object with `publish(event)` (one parameter): called with the `Event`;
- an object with only `publish_simple(event_type, data, source=...)`, the seed's synchronous
  bus (preferred when present, as the seed's service called it): called with the type, the
  event as a plain dict (its `data` plus `job_id`, `name`, `status`, `timestamp` and the log
  position `event_id`) and `source="job_service"`;
- a plain callable: called with the `Event`.

A coroutine returned by the bus is run as a task. A bus that raises is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from .events import Event, EventBus

__all__ = ["adapt_event_bus", "seed_payload"]

log = logging.getLogger("jobdeck.bus")
_tasks: set[asyncio.Task[Any]] = set()


def adapt_event_bus(bus: Any) -> Callable[[Event], None] | None:
    """A callback that forwards each event to `bus`; None if `bus` is jobdeck's own bus
    (used as it is). Raises TypeError naming `event_bus` for anything else."""
    if bus is None or isinstance(bus, EventBus):
        return None
    simple = getattr(bus, "publish_simple", None)
    if callable(simple):

        def forward_simple(event: Event) -> None:
            _run(simple(event.type, seed_payload(event), source="job_service"))

        return forward_simple
    publish = getattr(bus, "publish", None)
    if callable(publish):
        wants_type = _positional_count(publish) >= 2

        def forward(event: Event) -> None:
            _run(publish(event.type, event) if wants_type else publish(event))

        return forward
    if callable(bus):

        def call(event: Event) -> None:
            _run(bus(event))

        return call
    raise TypeError(
        "event_bus: expected an object with a publish(...) or publish_simple(...) method, "
        "or a callable, "
        f"got {type(bus).__name__}"
    )


def seed_payload(event: Event) -> dict[str, Any]:
    """An event as the seed's bus carried it: one flat dict of plain values."""
    return {
        **event.data,
        "job_id": event.job_id,
        "name": event.name,
        "status": event.status,
        "timestamp": event.timestamp,
        "event_id": event.id,
    }


def _positional_count(func: Callable[..., Any]) -> int:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return 1
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return 2
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in kinds)


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        _tasks.add(task)
        task.add_done_callback(_done)


def _done(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("the application's event bus failed", exc_info=task.exception())
