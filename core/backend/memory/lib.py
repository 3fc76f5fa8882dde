"""The memory engine's mirror of `_lib.lua`: the helpers every transition shares (job
lookup with expiry, unique keys, events, wake-ups, counters, lease recovery), over one store.

A `Lib` is what each transition function (`jobs`, `leases`, `workers`, `events`, `search`,
`schedules`) is handed: the store it acts on, the backend's settings, and these helpers.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ...codec import dumps
from ..records import HISTOGRAM_BOUNDS_MS, BackendSettings
from . import history
from .clock import fmt_s as _fmt_s
from .store import (
    _CONTROL_MAX,
    _CONTROL_TTL_MS,
    _STAT_TTL_S,
    _WAKE_MAX,
    Record,
    _int,
    _lua_number,
    _Store,
)

__all__ = ["DROP_BYTES", "Lib"]

DROP_BYTES = 33_554_432  # records one dead-letter trim frees at most (trim_dead in _lib.lua)


class Lib:
    """One backend's handle on a store: `s` is the store (shared by every backend that
    opened the same name), `settings` the backend's, `interrupts` counts `interrupt_wait`
    calls, so this backend's waits (and no other's) end."""

    def __init__(self, store: _Store, settings: BackendSettings) -> None:
        self.s = store
        self.settings = settings
        self.interrupts = 0
        self.queue = "default"  # the queue's name, for errors

    def job(self, job_id: str, now: int) -> Record | None:
        expires = self.s.expires.get(job_id)
        if expires is not None and expires <= now:
            self.delete(job_id)
        return self.s.jobs.get(job_id)

    def unique_holder(self, ukey: str, now: int) -> str | None:
        held = self.s.unique.get(ukey)
        if held is None:
            return None
        job_id, window_end = held
        if window_end > now:
            return job_id
        rec = self.job(job_id, now)
        status = None if rec is None else rec.get("status")
        return job_id if status in ("pending", "scheduled", "running", "waiting") else None

    def release_unique(self, job_id: str, rec: Record, now: int) -> None:
        ukey = rec.get("unique")
        held = None if ukey is None else self.s.unique.get(ukey)
        if ukey is None or held is None or held[0] != job_id:
            return
        if held[1] <= now:
            del self.s.unique[ukey]
        else:  # a window still running frees it when the window ends
            self.s.unique_windows.add(ukey, held[1])

    def expire_unique(self, now: int) -> None:
        """What Redis's PEXPIREAT on a released key does: keys whose window ended go."""
        windows = self.s.unique_windows
        for ukey in windows.up_to(now, 1000):
            windows.remove(ukey)
            held = self.s.unique.get(ukey)
            if held is not None and held[1] <= now and self.unique_holder(ukey, now) is None:
                del self.s.unique[ukey]

    def delete(self, job_id: str) -> None:
        self.s.jobs.pop(job_id, None)
        self.s.expires.pop(job_id, None)
        self.s.flows.children.pop(job_id, None)  # ch:<id> goes with the record

    def emit(
        self,
        now: int,
        etype: str,
        job_id: str = "",
        name: Any = "",
        status: str = "",
        data: bytes = b"",
    ) -> None:
        s = self.s
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

    def wake(self, n: int) -> None:
        if n > 0:
            self.s.wake = min(_WAKE_MAX, self.s.wake + n)
            self.s.work_signal.notify()

    def stat(self, now: int, **counts: float) -> None:
        sec = now // 1000
        for name, value in counts.items():
            if value:
                bucket = self.s.stats.setdefault(sec, {})
                bucket[name] = bucket.get(name, 0) + round(value)
        if len(self.s.stats) > 2 * _STAT_TTL_S:
            for old in [t for t in self.s.stats if t <= sec - _STAT_TTL_S]:
                del self.s.stats[old]
        history.note(
            self.s,
            now,
            counts.get("submitted", 0),
            counts.get("completed", 0),
            counts.get("failed", 0),
        )

    def observe(self, name: str, ms: float) -> None:
        ms = int(max(0.0, ms))
        label = next((str(b) for b in HISTOGRAM_BOUNDS_MS if ms <= b), "inf")
        hist = self.s.histograms
        hist[f"{name}:{label}"] = hist.get(f"{name}:{label}", 0) + 1
        hist[f"{name}:sum_ms"] = hist.get(f"{name}:sum_ms", 0) + ms

    def total(self, **counts: int) -> None:
        for name, value in counts.items():
            if value:
                self.s.totals[name] = self.s.totals.get(name, 0) + value

    def trim_history(self, now: int, key: str, max_len: int, ttl_ms: int) -> None:
        zset = self.s.sets[key]
        if ttl_ms > 0:  # a record with a ttl of its own stays until it ends (_lib.lua)
            kept = self.s.kept
            for job_id in kept.up_to(now, 1000):
                kept.remove(job_id)
                self.job(job_id, now)  # drops it if its own ttl ended
            for job_id in zset.up_to(now - ttl_ms, 1000):
                zset.remove(job_id)
                expires = self.s.expires.get(job_id, 0)
                if expires > now and "rttl" in self.s.jobs.get(job_id, ()):
                    kept.add(job_id, expires)
                else:
                    self.delete(job_id)
        extra = min(len(zset) - max_len, 1000)
        for job_id in zset.pop_min(extra):
            self.delete(job_id)

    def take_unique_back(self, job_id: str, rec: Record, now: int) -> bool:
        """A dead letter going back to pending: False if its unique key is held by another
        unfinished job (it stays dead), else it holds the key again (retry_dead.lua)."""
        ukey = rec.get("unique")
        if ukey is None:
            return True
        holder = self.unique_holder(ukey, now)
        if holder is not None and holder != job_id:
            return False
        if holder is None:
            self.s.unique[ukey] = (job_id, 0)
        return True

    def trim_dead(self, now: int) -> None:
        """trim_dead: dead letters past `dead_ttl` or `dead_max` are dropped, oldest first, at
        most 1000 and DROP_BYTES of records per call, each with a JOB_DROPPED event and the
        `dead_dropped` total."""
        dead, settings = self.s.sets["dead"], self.settings
        ttl_ms = int(settings.dead_ttl * 1000)
        dropped, freed = 0, 0

        def drop(ids: list[str], why: dict[str, object]) -> None:
            nonlocal dropped, freed
            for job_id in ids:
                if freed >= DROP_BYTES:
                    return
                rec = self.s.jobs.get(job_id) or {}
                freed += sum(len(v) for v in rec.values() if isinstance(v, (str, bytes)))
                dead.remove(job_id)
                self.delete(job_id)
                self.emit(now, "JOB_DROPPED", job_id, rec.get("name"), "failed", dumps(why))
                dropped += 1

        age: dict[str, object] = {"reason": "age", "dead_ttl": _lua_number(ttl_ms / 1000)}
        drop(dead.up_to(now - ttl_ms, 1000), age)
        extra = min(len(dead) - settings.dead_max, 1000 - dropped)
        if extra > 0:
            count: dict[str, object] = {"reason": "count", "dead_max": settings.dead_max}
            drop(dead.up_to(float("inf"), extra), count)
        self.total(dead_dropped=dropped)

    def recover(self, now: int, limit: int, max_stalls: int) -> list[tuple[str, str]]:
        """Expired leases: requeue as stalled, dead-letter after `max_stalls`, or cancel a job
        whose cancellation was requested. Returns the jobs of workflows it ended, with their
        status, for the caller's `FlowStep.ended`."""
        running, requeued, cancelled, dead, woken = self.s.sets["running"], 0, 0, 0, 0
        ended: list[tuple[str, str]] = []
        for job_id in running.up_to(now, limit):
            running.remove(job_id)
            rec = self.job(job_id, now)
            if rec is None:
                continue
            woken += self.s.lanes.throttle.free_slot(job_id, rec, now)
            stalls = _int(rec.get("stalls")) + 1
            rec["stalls"] = str(stalls)
            rec.pop("token", None)
            name = rec.get("name")
            data = dumps({"reason": "stalled", "stalls": stalls, "worker": rec.get("worker") or ""})
            if rec.get("cancel") == "1":
                rec.update(status="cancelled", finished_at=_fmt_s(now))
                self.s.sets["cancelled"].add(job_id, now)
                self.release_unique(job_id, rec, now)
                cancelled += 1
                self.total(cancelled=1)
                self.emit(now, "JOB_CANCELLED", job_id, name, "cancelled", data)
                if rec.get("kids") or rec.get("feed") is not None:
                    ended.append((job_id, "cancelled"))
            elif stalls >= max_stalls:
                message = f"stalled {stalls} times: its worker stopped heartbeating"
                rec.update(
                    status="failed",
                    finished_at=_fmt_s(now),
                    error=dumps({"type": "Stalled", "message": message}),
                )
                self.s.sets["dead"].add(job_id, now)
                self.release_unique(job_id, rec, now)
                dead += 1
                self.total(dead=1)
                self.stat(now, failed=1)
                history.count_name(self.s, name, "f")
                self.emit(
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
                if rec.get("kids") or rec.get("feed") is not None:
                    ended.append((job_id, "failed"))
            else:
                rec["status"] = "pending"
                self.enqueue(job_id, rec, front=True)
                self.total(requeued=1)
                self.emit(now, "JOB_REQUEUED", job_id, name, "pending", data)
                requeued += 1
        if cancelled:
            self.trim_history(now, "cancelled", self.settings.history_max, 0)
        if dead:
            self.trim_dead(now)
        self.wake(requeued + woken)
        return ended

    def enqueue(self, job_id: str, rec: Record, front: bool = False) -> None:
        """A job becomes pending: into its group's lane or its priority's main line."""
        self.s.lanes.enqueue(self.s.sets["pending"], job_id, rec, rec.get("seq"), front)

    def dead_letter_malformed(self, now: int, job_id: str, message: str) -> None:
        rec = self.s.jobs.setdefault(job_id, {})
        rec.update(
            name="<malformed>",
            status="failed",
            finished_at=_fmt_s(now),
            error=dumps({"type": "MalformedRecord", "message": message}),
        )
        self.s.sets["dead"].add(job_id, now)
        self.emit(
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

    def drop_stale_workers(self, now: int) -> None:
        """ZREMRANGEBYSCORE on `workers`, plus what Redis would have expired by now."""
        s = self.s
        for worker_id in s.workers.up_to(now - int(self.settings.worker_ttl * 1000)):
            s.workers.remove(worker_id)
        for worker_id in [w for w, (_, expires) in s.worker_info.items() if expires <= now]:
            del s.worker_info[worker_id]
        for worker_id in [w for w, (_, expires) in s.control.items() if expires <= now]:
            del s.control[worker_id]

    def push_control(self, now: int, worker_id: str, message: bytes) -> None:
        queue = self.control_queue(worker_id, now)
        if queue is None:
            queue = deque()
        queue.append(message)
        while len(queue) > _CONTROL_MAX:  # send_control in _lib.lua keeps the newest
            queue.popleft()
        self.s.control[worker_id] = (queue, now + _CONTROL_TTL_MS)
        self.s.control_signal.notify()

    def control_queue(self, worker_id: str, now: int) -> deque[bytes] | None:
        entry = self.s.control.get(worker_id)
        if entry is not None and entry[1] <= now:
            del self.s.control[worker_id]
            return None
        return None if entry is None else entry[0]
