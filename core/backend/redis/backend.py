"""`RedisBackend`: the Redis engine's concerns put together into one `Backend`."""

from __future__ import annotations

from .events import EventsMixin
from .jobs import JobsMixin
from .leases import LeasesMixin
from .schedules import SchedulesMixin
from .search import SearchMixin
from .workers import WorkersMixin

__all__ = ["RedisBackend"]


class RedisBackend(JobsMixin, LeasesMixin, WorkersMixin, EventsMixin, SearchMixin, SchedulesMixin):
    """Jobs in Redis, shared by every process and machine that opens the same URL."""
