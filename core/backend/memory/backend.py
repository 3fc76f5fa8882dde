"""`MemoryBackend`: the `Backend` contract in one process, every method in this one class.

Each method hands the backend's `Lib` (`lib.py`, the mirror of `_lib.lua`: the store and the
helpers every transition shares) to the function that mirrors its Lua script, in the module
named for its concern: `jobs`, `leases`, `workers`, `events`, `search`, `schedules`. Those
functions are plain (not async): a transition never yields to the event loop halfway, as a
script never yields in Redis. Only the blocking reads await.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar, Self, TypeVar

from ...events import Event
from ..records import (
    BackendSettings,
    ClaimBatch,
    DueSchedules,
    Finish,
    JobEmit,
    NewJob,
    ParentResult,
    ProgressUpdate,
    RawHistory,
    RawLimits,
    RawMetrics,
    RawSchedule,
    Relatives,
    ScheduleFire,
    WorkerRecord,
)
from . import clock, events, family, flow, jobs, leases, schedules, search, sessions, workers
from .lib import Lib
from .store import _Store

__all__ = ["MemoryBackend"]

T = TypeVar("T")


class MemoryBackend:
    """The `Backend` protocol in one process. `MemoryBackend(name)` has a private store;
    `MemoryBackend.shared(name)` opens the process-wide store of that name."""

    _stores: ClassVar[dict[str, _Store]] = {}

    def __init__(self, name: str = "default", settings: BackendSettings | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"memory store name: expected a non-empty str, got {name!r}")
        self.name = name
        self.settings = settings or BackendSettings()
        self._lib = Lib(_Store(), self.settings)
        self._lib.queue = name.rpartition("/")[2]

    @classmethod
    def shared(cls, name: str = "default", settings: BackendSettings | None = None) -> Self:
        """A backend over the process-wide store `name`: every service in this process that
        opens `memory://name` sees the same jobs, events and workers."""
        backend = cls(name, settings)
        backend._lib.s = cls._stores.setdefault(name, backend._lib.s)
        return backend

    @classmethod
    def forget(cls, name: str) -> None:
        """Drop the shared store `name` (its jobs are gone; open backends keep their copy)."""
        cls._stores.pop(name, None)

    @property
    def description(self) -> str:
        return f"memory://{self.name}"

    def _atomic(self, step: Callable[..., T], *args: Any) -> T:
        """One transition on the store, under its lock: atomic as a script, also between
        threads (a `SyncJobService` calls from a loop of its own)."""
        with self._lib.s.lock:
            return step(self._lib, *args)

    async def initialize(self) -> None:
        return None

    async def close(self) -> None:
        return None  # the store lives on, as a Redis server outlives its clients

    async def list_queues(self) -> list[str]:
        # Shared stores are named "<store>/<prefix>/<queue>" (see open_backend): the queues
        # of a prefix are its sibling stores in this process.
        head, sep, _queue = self.name.rpartition("/")
        if not sep:
            return []
        return sorted(
            name.rpartition("/")[2]
            for name, store in list(self._stores.items())
            if name.rpartition("/")[0] == head and store.last_event != (0, 0)
        )

    # -- producers (jobs.py) -----------------------------------------------------------------
    async def submit(self, new: Sequence[NewJob]) -> list[bool | str]:
        return self._atomic(jobs.submit, new)

    async def cancel(self, job_id: str) -> str | None:
        return self._atomic(jobs.cancel, job_id)

    async def retry_dead(self, job_ids: Sequence[str] | None) -> int:
        return self._atomic(jobs.retry_dead, job_ids)

    async def purge(self, status: str) -> int:
        return self._atomic(jobs.purge, status)

    async def run_now(self, job_id: str) -> bool:
        return jobs.run_now(self._lib, job_id)

    async def delete(self, job_id: str, status: str | None = None) -> str | None:
        return self._atomic(jobs.delete, job_id, status)

    async def set_paused(self, paused: bool) -> None:
        self._atomic(jobs.set_paused, paused)

    # -- web sign-ins (sessions.py) ---------------------------------------------------------
    async def open_session(self, digest: str, lifetime_ms: int, cap: int) -> int:
        return self._atomic(sessions.open_session, digest, lifetime_ms, cap)

    async def session_open(self, digest: str) -> bool:
        return self._atomic(sessions.session_open, digest)

    async def close_session(self, digest: str) -> bool:
        return self._atomic(sessions.close_session, digest)

    # -- reading (jobs.py, search.py, events.py) ---------------------------------------------
    async def get(self, job_id: str, max_field: int = 0) -> Mapping[Any, Any] | None:
        return self._atomic(jobs.get, job_id, max_field)

    async def list_jobs(
        self, status: str, limit: int, offset: int, newest_first: bool, max_field: int = 0
    ) -> list[tuple[str, Mapping[Any, Any]]]:
        return self._atomic(jobs.list_jobs, status, limit, offset, newest_first, max_field)

    async def search(
        self,
        status: str,
        needle: str,
        offset: int,
        budget: int,
        limit: int,
        newest_first: bool,
        max_field: int = 0,
    ) -> tuple[list[tuple[str, Mapping[Any, Any]]], int, bool]:
        return self._atomic(
            search.search, status, needle, offset, budget, limit, newest_first, max_field
        )

    async def metrics(self, window: int) -> RawMetrics:
        return self._atomic(events.metrics, window)

    async def history(self, minutes: bool, count: int) -> RawHistory:
        return self._atomic(events.long_history, minutes, count)

    # -- limits (flow.py) ------------------------------------------------------------------
    async def set_limit(self, key: str, value: str, event: Mapping[str, Any]) -> int:
        return self._atomic(flow.set_limit, key, value, event)

    async def limits(self) -> RawLimits:
        return self._atomic(flow.limits)

    async def read_events(self, after: str | None, count: int, block: float) -> list[Event]:
        return await events.read_events(self._lib, after, count, block)

    async def last_event_id(self) -> str:
        return self._atomic(events.last_event_id)

    async def trimmed_through(self) -> str:
        return self._atomic(events.trimmed_through)

    async def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        self._atomic(events.emit, event_type, data)

    # -- workers' transitions (leases.py) ----------------------------------------------------
    async def claim(
        self, worker_id: str, count: int, lease: float, handlers: Collection[str] | None = None
    ) -> ClaimBatch:
        return self._atomic(leases.claim, worker_id, count, lease, handlers)

    async def wait_and_claim(
        self,
        worker_id: str,
        count: int,
        lease: float,
        timeout: float,
        handlers: Collection[str] | None = None,
    ) -> ClaimBatch:
        await workers.wait_for_work(self._lib, timeout)
        return self._atomic(leases.claim, worker_id, count, lease, handlers)

    async def finish(self, worker_id: str, items: Sequence[Finish]) -> list[bool]:
        return self._atomic(leases.finish, worker_id, items)

    async def job_events(self, items: Sequence[JobEmit]) -> int:
        return self._atomic(leases.job_events, items)

    async def progress(self, items: Sequence[ProgressUpdate]) -> None:
        self._atomic(leases.progress, items)

    # -- workflows (family.py) -------------------------------------------------------------------
    async def parent_results(
        self, job_id: str, offset: int, count: int
    ) -> tuple[list[ParentResult], int]:
        return self._atomic(family.parent_results, job_id, offset, count)

    async def relatives(self, job_id: str, limit: int) -> Relatives:
        return self._atomic(family.relatives, job_id, limit)

    # -- the worker registry, wake-ups and control (workers.py) ------------------------------
    async def list_workers(self) -> list[WorkerRecord]:
        return self._atomic(workers.list_workers)

    async def heartbeat(
        self, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
    ) -> tuple[list[str], list[str]]:
        return self._atomic(workers.heartbeat, worker, leases, lease)

    async def unregister_worker(self, worker_id: str) -> None:
        self._atomic(workers.unregister_worker, worker_id)

    async def wait_for_work(self, timeout: float) -> None:
        await workers.wait_for_work(self._lib, timeout)

    async def interrupt_wait(self) -> None:
        self._atomic(workers.interrupt_wait)

    async def send_control(self, message: Mapping[str, Any], worker_id: str | None) -> int:
        return self._atomic(workers.send_control, message, worker_id)

    async def next_control(self, worker_id: str, timeout: float) -> list[dict[str, Any]]:
        return await workers.next_control(self._lib, worker_id, timeout)

    async def now_ms(self) -> int:
        return clock.now_ms()

    async def server_warnings(self) -> list[str]:
        return []  # nothing to configure: no eviction, no persistence to lose

    # -- schedules (schedules.py) ------------------------------------------------------------
    async def put_schedule(
        self, name: str, definition: bytes, timing: str, first_ms: int, job_name: str
    ) -> int:
        return self._atomic(schedules.put_schedule, name, definition, timing, first_ms, job_name)

    async def due_schedules(self, limit: int) -> DueSchedules:
        return self._atomic(schedules.due_schedules, limit)

    async def fire_schedules(self, items: Sequence[ScheduleFire]) -> list[bool]:
        return self._atomic(schedules.fire_schedules, items)

    async def list_schedules(self, name: str | None = None) -> list[RawSchedule]:
        return self._atomic(schedules.list_schedules, name)

    async def set_schedule_paused(self, name: str, paused: bool, next_ms: int) -> int:
        return self._atomic(schedules.set_schedule_paused, name, paused, next_ms)

    async def remove_schedule(self, name: str) -> bool:
        return self._atomic(schedules.remove_schedule, name)
