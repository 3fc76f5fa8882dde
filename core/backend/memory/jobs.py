"""Producers' and readers' transitions in memory: submit, cancel, retry dead letters, purge,
pause, get and list (submit.lua, cancel.lua, retry_dead.lua, purge.lua, pause.lua, list.lua).

Each is a plain function over the backend's `Lib`: it does its whole transition without
yielding to the event loop, so it is atomic the way a script is atomic in Redis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...codec import dumps
from ...keys import STATUS_KEYS
from ..records import PAGE_ROWS, NewJob
from . import clock
from .clock import fmt_s as _fmt_s
from .lib import Lib
from .store import _WAKE_MAX, Record, _field, _lua_number
from .workflows import FlowStep

PAGE_BYTES, PAGE_FLOOR = 2_097_152, 256  # page_fields' bounds in _lib.lua

__all__ = [
    "cancel",
    "capped_fields",
    "get",
    "list_jobs",
    "page",
    "purge",
    "retry_dead",
    "run_now",
    "set_paused",
    "submit",
]


def submit(lib: Lib, jobs: Sequence[NewJob]) -> list[bool | str]:
    s, now = lib.s, clock.now_ms()
    created: list[bool | str] = []
    ready = delayed = waited = 0
    step: FlowStep | None = None
    if any(job.after for job in jobs):
        missing = unknown_parent(lib, jobs, now)
        if missing is not None:
            raise missing
        step = FlowStep(lib, now)
    for job in jobs:
        delay_ms, ukey, window = job.delay_ms, job.unique_key, job.unique_window_ms
        holder = lib.unique_holder(ukey, now) if ukey else None
        if lib.job(job.id, now) is not None:
            created.append(False)
            continue
        if holder is not None:
            created.append(holder)
            continue
        s.seq += 1
        rec: Record = {"created_at": _fmt_s(now), "seq": str(s.seq)}
        for key, value in job.fields.items():
            rec[key.decode() if isinstance(key, bytes) else str(key)] = _field(value)
        if ukey:
            s.unique[ukey] = (job.id, now + window if window > 0 else 0)
            rec["unique"] = ukey
        if job.after and step is not None:
            status = rec["status"] = "waiting"
            s.sets["waiting"].add(job.id, now)
            step.todo.append(("l", job.id, "0", 0))
            waited += 1
        elif delay_ms > 0:
            status = "scheduled"
            rec.update(status=status, scheduled_for=_fmt_s(now + delay_ms))
            s.sets["scheduled"].add(job.id, now + delay_ms)
            delayed += 1
        else:
            status = rec["status"] = "pending"
            lib.enqueue(job.id, rec)
            ready += 1
        if job.expires_ms:
            rec["expires"] = _fmt_s(now + job.expires_ms)
            s.flows.expiring.add(job.id, now + job.expires_ms)
        s.jobs[job.id] = rec
        lib.emit(
            now,
            "JOB_SUBMITTED",
            job.id,
            job.name,
            status,
            dumps({"priority": int(job.priority), "delay": _lua_number(delay_ms / 1000)}),
        )
        created.append(True)
    if delayed:
        lib.wake(1)
    lib.wake(ready)
    lib.total(submitted=ready + delayed + waited)
    lib.stat(now, submitted=ready + delayed + waited)
    if step is not None:
        step.finish(1000, trim=False)
    return created


def unknown_parent(lib: Lib, jobs: Sequence[NewJob], now: int) -> ValueError | None:
    """submit.lua's check, before anything is written: each parent of a new job is a job
    here or one earlier in the batch."""
    before: set[str] = set()
    for position, job in enumerate(jobs):
        if job.after and lib.job(job.id, now) is None:
            for parent in job.after:
                if parent not in before and lib.job(parent, now) is None:
                    where = f"job {position}: " if len(jobs) > 1 else ""
                    return ValueError(
                        f"{where}after: no job {parent!r} on queue {lib.queue!r} (a parent "
                        "must be a job of the same queue that has not been deleted)"
                    )
        before.add(job.id)
    return None


def cancel(lib: Lib, job_id: str) -> str | None:
    s, now = lib.s, clock.now_ms()
    rec = lib.job(job_id, now)
    if rec is None:
        return None
    status: str | None = rec.get("status")
    if status in ("pending", "scheduled", "waiting"):
        if status == "pending":
            removed = s.lanes.remove(s.sets["pending"], job_id, rec)
        else:
            removed = s.sets[status].remove(job_id)
        if not removed:
            return None
        rec.update(status="cancelled", finished_at=_fmt_s(now))
        s.sets["cancelled"].add(job_id, now)
        lib.release_unique(job_id, rec, now)
        lib.total(cancelled=1)
        lib.emit(now, "JOB_CANCELLED", job_id, rec.get("name"), "cancelled", dumps({"was": status}))
        lib.trim_history(now, "cancelled", lib.settings.history_max, 0)
        if rec.get("kids") or rec.get("feed") is not None or rec.get("expires"):
            step = FlowStep(lib, now)
            step.ended(job_id, "cancelled", rec)
            step.finish()
        return status
    if status == "running":
        rec["cancel"] = "1"
        worker = rec.get("worker")
        if worker is not None:
            lib.push_control(now, worker, dumps({"op": "cancel", "job_id": job_id}))
        return status
    return None


def retry_dead(lib: Lib, job_ids: Sequence[str] | None) -> int:
    s, now = lib.s, clock.now_ms()
    dead = s.sets["dead"]
    ids = [member for _, member in dead.items()] if job_ids is None else list(job_ids)
    moved = 0
    step = FlowStep(lib, now)
    for job_id in ids:
        if dead.score(job_id) is None:
            continue
        rec = lib.job(job_id, now)
        if rec is not None and rec.get("feed") is not None:
            # (workflows) back to waiting for its parents (retry_dead.lua)
            moved += step.revive(job_id, rec, b'{"reason":"retry"}')
            continue
        if rec is not None and not lib.take_unique_back(job_id, rec, now):
            continue  # its unique key is another unfinished job's: it stays dead
        dead.remove(job_id)
        if rec is None:
            continue
        s.seq += 1
        rec.update(status="pending", attempts="0", stalls="0", seq=str(s.seq))
        for name in ("finished_at", "cancel", "scheduled_for", "held", "expires"):
            rec.pop(name, None)
        lib.enqueue(job_id, rec)
        lib.emit(now, "JOB_REQUEUED", job_id, rec.get("name"), "pending", b'{"reason":"retry"}')
        moved += 1
        if rec.get("kids"):
            step.todo.append(("v", job_id, 0))
    step.finish(trim=False)
    lib.wake(moved)
    lib.total(retried_dead=moved)
    return moved


def run_now(lib: Lib, job_id: str) -> bool:
    s, now = lib.s, clock.now_ms()
    rec = lib.job(job_id, now)
    if rec is None or rec.get("status") != "scheduled" or not s.sets["scheduled"].remove(job_id):
        return False
    s.seq += 1
    rec.update(status="pending", scheduled_for=_fmt_s(now), seq=str(s.seq))
    lib.enqueue(job_id, rec)
    lib.wake(1)
    lib.emit(now, "JOB_REQUEUED", job_id, rec.get("name"), "pending", b'{"reason":"run_now"}')
    return True


def purge(lib: Lib, status: str) -> int:
    key, now = STATUS_KEYS[status], clock.now_ms()
    removed = lib.s.sets[key].pop_min(len(lib.s.sets[key]))
    if status == "pending":
        removed += lib.s.lanes.purge()
    step = FlowStep(lib, now)
    for job_id in removed:
        rec = lib.s.jobs.get(job_id)
        if rec is not None:
            lib.release_unique(job_id, rec, now)
            if status in ("pending", "scheduled", "waiting"):
                step.ended(job_id, "gone", rec)  # purge.lua: gone for its children
        lib.delete(job_id)
    step.finish(trim=False)
    if removed:
        lib.emit(now, "JOBS_PURGED", "", "", status, dumps({"count": len(removed)}))
    return len(removed)


def delete(lib: Lib, job_id: str, only: str | None = None) -> str | None:
    now = clock.now_ms()
    rec = lib.job(job_id, now)
    status: str | None = None if rec is None else rec.get("status")
    if rec is None or status not in ("completed", "failed", "cancelled", "expired"):
        return None
    if only is not None and status != only:
        return None
    lib.s.sets[STATUS_KEYS[status]].remove(job_id)
    lib.delete(job_id)
    lib.emit(now, "JOBS_PURGED", job_id, rec.get("name"), status, b'{"count":1}')
    return status


def set_paused(lib: Lib, paused: bool) -> None:
    s, now = lib.s, clock.now_ms()
    if paused and s.paused is None:
        s.paused = _fmt_s(now)
        lib.emit(now, "QUEUE_PAUSED")
    elif not paused and s.paused is not None:
        s.paused = None
        lib.emit(now, "QUEUE_RESUMED")
        lib.wake(_WAKE_MAX)


# -- reading -------------------------------------------------------------------------
def get(lib: Lib, job_id: str, max_field: int = 0) -> Mapping[Any, Any] | None:
    rec = lib.job(job_id, clock.now_ms())
    if rec is None:
        return None
    return capped_fields(rec, max_field, [PAGE_BYTES] if max_field > 0 else None)


def list_jobs(
    lib: Lib, status: str, limit: int, offset: int, newest_first: bool, max_field: int = 0
) -> list[tuple[str, Mapping[Any, Any]]]:
    if limit <= 0:
        return []
    now = clock.now_ms()
    ids = page(lib, status, max(0, offset), limit, newest_first)
    rows: list[tuple[str, Mapping[Any, Any]]] = []
    for n, job_id in enumerate(ids):
        if n % PAGE_ROWS == 0:
            budget = [PAGE_BYTES]  # the Redis engine reads a page in calls of PAGE_ROWS
        rows.append((job_id, capped_fields(lib.job(job_id, now) or {}, max_field, budget)))
    return rows


def page(lib: Lib, status: str, offset: int, count: int, newest_first: bool) -> list[str]:
    """`count` ids of a status from `offset` in page order (status_ids in Lua): pending
    spans the main lines and the side lanes (`Lanes.pending_page`)."""
    zset = lib.s.sets[STATUS_KEYS[status]]
    if status != "pending":
        return zset.page(offset, count, newest_first)
    return lib.s.lanes.pending_page(zset, offset, count, newest_first)


def capped_fields(
    record: Mapping[Any, Any], max_field: int, budget: list[int] | None = None
) -> dict[Any, Any]:
    """A copy of `record` as `page_fields` in _lib.lua reads one: every value over
    `max_field` bytes (0: none) left out and named as `__omitted:<field>` with its size, and,
    with a `budget` (`[bytes the page may still copy]`), values read only while it lasts,
    then only those up to PAGE_FLOOR bytes."""
    if max_field <= 0 and budget is None:
        return dict(record)
    out: dict[Any, Any] = {}
    for name, value in record.items():
        if isinstance(value, bytes):
            size = len(value)
        else:
            size = len(str(value).encode(errors="surrogatepass"))
        over_budget = budget is not None and size > max(PAGE_FLOOR, budget[0])
        if (max_field > 0 and size > max_field) or over_budget:
            key = name.decode() if isinstance(name, bytes) else str(name)
            out["__omitted:" + key] = str(size)
        else:
            out[name] = value
            if budget is not None:
                budget[0] -= size
    return out
