"""`MemoryBackend`: the memory engine's concerns put together into one `Backend`."""

from __future__ import annotations

from .events import EventsMixin
from .jobs import JobsMixin
from .leases import LeasesMixin
from .schedules import SchedulesMixin
from .search import SearchMixin
from .workers import WorkersMixin

__all__ = ["MemoryBackend"]


class MemoryBackend(JobsMixin, LeasesMixin, WorkersMixin, EventsMixin, SearchMixin, SchedulesMixin):
    """The `Backend` protocol in one process. `MemoryBackend(name)` has a private store;
    `MemoryBackend.shared(name)` opens the process-wide store of that name."""
