"""The memory engine's base: store handling and the mirror of `_lib.lua`, the helpers every
transition shares (job lookup with expiry, events, wake-ups, counters, lease recovery).

The concerns (jobs, leases, workers, events) are mixins over this class, each in its own
module, and `MemoryBackend` puts them together.
"""

from __future__ import annotations

from collections import deque
from typing import Any, ClassVar, Self

from ...codec import dumps
from ..base import HISTOGRAM_BOUNDS_MS, BackendSettings
from .clock import fmt_s as _fmt_s
from .store import (
    _CONTROL_TTL_MS,
    _STAT_TTL_S,
    _WAKE_MAX,
    Record,
    _int,
    _pscore,
    _Store,
)

__all__ = ["MemoryEngine"]


class MemoryEngine:
    """One handle on a store. `MemoryEngine(name)` has a private store; `.shared(name)`
    opens the process-wide store of that name."""

    _stores: ClassVar[dict[str, _Store]] = {}

    def __init__(self, name: str = "default", settings: BackendSettings | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"memory store name: expected a non-empty str, got {name!r}")
        self.name = name
        self.settings = settings or BackendSettings()
        self._s = _Store()
        self._interrupts = 0  # bumped by interrupt_wait: this backend's waits end

    @classmethod
    def shared(cls, name: str = "default", settings: BackendSettings | None = None) -> Self:
        """A backend over the process-wide store `name`: every service in this process that
        opens `memory://name` sees the same jobs, events and workers."""
        backend = cls(name, settings)
        backend._s = cls._stores.setdefault(name, backend._s)
        return backend

    @classmethod
    def forget(cls, name: str) -> None:
        """Drop the shared store `name` (its jobs are gone; open backends keep their copy)."""
        cls._stores.pop(name, None)

    @property
    def description(self) -> str:
        return f"memory://{self.name}"

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
            for name, store in self._stores.items()
            if name.rpartition("/")[0] == head and store.last_event != (0, 0)
        )

    # -- the prelude (_lib.lua) ------------------------------------------------------------
    def _job(self, job_id: str, now: int) -> Record | None:
        expires = self._s.expires.get(job_id)
        if expires is not None and expires <= now:
            self._delete(job_id)
        return self._s.jobs.get(job_id)

    def _unique_holder(self, ukey: str, now: int) -> str | None:
        held = self._s.unique.get(ukey)
        if held is None:
            return None
        job_id, window_end = held
        if window_end > now:
            return job_id
        rec = self._job(job_id, now)
        status = None if rec is None else rec.get("status")
        return job_id if status in ("pending", "scheduled", "running") else None

    def _release_unique(self, job_id: str, rec: Record, now: int) -> None:
        ukey = rec.get("unique")
        held = None if ukey is None else self._s.unique.get(ukey)
        if held is not None and held[0] == job_id and held[1] <= now:
            del self._s.unique[ukey]  # a window still running frees it when the window ends

    def _delete(self, job_id: str) -> None:
        self._s.jobs.pop(job_id, None)
        self._s.expires.pop(job_id, None)

    def _emit(
        self,
        now: int,
        etype: str,
        job_id: str = "",
        name: Any = "",
        status: str = "",
        data: bytes = b"",
    ) -> None:
        s = self._s
        ms, seq = s.last_event
        s.last_event = (now, 0) if now > ms else (ms, seq + 1)
        fields = {
            "t": etype,
            "j": job_id,
            "n": name or "",
            "s": status,
            "ts": _fmt_s(now),
            "d": data,
        }
        s.events.append((s.last_event, fields))
        while len(s.events) > self.settings.events_maxlen:
            s.trimmed_through = s.events.popleft()[0]
        s.event_signal.notify()

    def _wake(self, n: int) -> None:
        if n > 0:
            self._s.wake = min(_WAKE_MAX, self._s.wake + n)
            self._s.work_signal.notify()

    def _stat(self, now: int, **counts: float) -> None:
        sec = now // 1000
        for name, value in counts.items():
            if value:
                bucket = self._s.stats.setdefault(sec, {})
                bucket[name] = bucket.get(name, 0) + round(value)
        if len(self._s.stats) > 2 * _STAT_TTL_S:
            for old in [t for t in self._s.stats if t <= sec - _STAT_TTL_S]:
                del self._s.stats[old]

    def _observe(self, name: str, ms: float) -> None:
        ms = int(max(0.0, ms))
        label = next((str(b) for b in HISTOGRAM_BOUNDS_MS if ms <= b), "inf")
        hist = self._s.histograms
        hist[f"{name}:{label}"] = hist.get(f"{name}:{label}", 0) + 1
        hist[f"{name}:sum_ms"] = hist.get(f"{name}:sum_ms", 0) + ms

    def _total(self, **counts: int) -> None:
        for name, value in counts.items():
            if value:
                self._s.totals[name] = self._s.totals.get(name, 0) + value

    def _trim_history(self, now: int, key: str, max_len: int, ttl_ms: int) -> None:
        zset = self._s.sets[key]
        if ttl_ms > 0:
            for job_id in zset.up_to(now - ttl_ms, 1000):
                zset.remove(job_id)
                self._delete(job_id)
        extra = min(len(zset) - max_len, 1000)
        for job_id in zset.pop_min(extra):
            self._delete(job_id)

    def _recover(self, now: int, limit: int, max_stalls: int) -> None:
        """Expired leases: requeue as stalled, dead-letter after `max_stalls`, or cancel a job
        whose cancellation was requested."""
        running, requeued = self._s.sets["running"], 0
        for job_id in running.up_to(now, limit):
            running.remove(job_id)
            rec = self._job(job_id, now)
            if rec is None:
                continue
            stalls = _int(rec.get("stalls")) + 1
            rec["stalls"] = str(stalls)
            rec.pop("token", None)
            name = rec.get("name")
            data = dumps({"reason": "stalled", "stalls": stalls, "worker": rec.get("worker") or ""})
            if rec.get("cancel") == "1":
                rec.update(status="cancelled", finished_at=_fmt_s(now))
                self._s.sets["cancelled"].add(job_id, now)
                self._total(cancelled=1)
                self._emit(now, "JOB_CANCELLED", job_id, name, "cancelled", data)
            elif stalls >= max_stalls:
                message = f"stalled {stalls} times: its worker stopped heartbeating"
                rec.update(
                    status="failed",
                    finished_at=_fmt_s(now),
                    error=dumps({"type": "Stalled", "message": message}),
                )
                self._s.sets["dead"].add(job_id, now)
                self._total(dead=1)
                self._stat(now, failed=1)
                self._emit(
                    now,
                    "JOB_FAILED",
                    job_id,
                    name,
                    "failed",
                    dumps(
                        {
                            "reason": "stalled",
                            "stalls": stalls,
                            "will_retry": False,
                            "error_type": "Stalled",
                            "error": f"stalled {stalls} times",
                        }
                    ),
                )
            else:
                rec["status"] = "pending"
                self._s.sets["pending"].add(job_id, _pscore(rec.get("priority"), rec.get("seq")))
                self._total(requeued=1)
                self._emit(now, "JOB_REQUEUED", job_id, name, "pending", data)
                requeued += 1
        self._wake(requeued)

    def _dead_letter_malformed(self, now: int, job_id: str, message: str) -> None:
        rec = self._s.jobs.setdefault(job_id, {})
        rec.update(
            name="<malformed>",
            status="failed",
            finished_at=_fmt_s(now),
            error=dumps({"type": "MalformedRecord", "message": message}),
        )
        self._s.sets["dead"].add(job_id, now)
        self._emit(
            now,
            "JOB_FAILED",
            job_id,
            "<malformed>",
            "failed",
            dumps(
                {
                    "reason": "malformed",
                    "will_retry": False,
                    "error_type": "MalformedRecord",
                    "error": message,
                }
            ),
        )

    def _drop_stale_workers(self, now: int) -> None:
        """ZREMRANGEBYSCORE on `workers`, plus what Redis would have expired by now."""
        s = self._s
        for worker_id in s.workers.up_to(now - int(self.settings.worker_ttl * 1000)):
            s.workers.remove(worker_id)
        for worker_id in [w for w, (_, expires) in s.worker_info.items() if expires <= now]:
            del s.worker_info[worker_id]
        for worker_id in [w for w, (_, expires) in s.control.items() if expires <= now]:
            del s.control[worker_id]

    def _push_control(self, now: int, worker_id: str, message: bytes) -> None:
        queue = self._control_queue(worker_id, now)
        if queue is None:
            queue = deque()
        queue.append(message)
        self._s.control[worker_id] = (queue, now + _CONTROL_TTL_MS)
        self._s.control_signal.notify()

    def _control_queue(self, worker_id: str, now: int) -> deque[bytes] | None:
        entry = self._s.control.get(worker_id)
        if entry is not None and entry[1] <= now:
            del self._s.control[worker_id]
            return None
        return None if entry is None else entry[0]
