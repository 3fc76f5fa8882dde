"""Schedules in memory: the sched_*.lua scripts over the store's `schedules` dict and its
`schedules_due` sorted set, as functions over the backend's `Lib`."""

from __future__ import annotations

from collections.abc import Sequence

from ...codec import dumps, loads
from ..base import DueSchedules, RawSchedule, ScheduleFire
from . import clock
from .clock import fmt_s as _fmt_s
from .lib import Lib
from .store import Record, _field

__all__ = [
    "due_schedules",
    "fire_schedules",
    "list_schedules",
    "put_schedule",
    "remove_schedule",
    "set_schedule_paused",
]


def _job_name(definition: object) -> str:
    try:
        job = loads(definition)["job"]  # type: ignore[arg-type]
    except (ValueError, TypeError, KeyError):
        return ""
    return job if isinstance(job, str) else ""


def put_schedule(
    lib: Lib, name: str, definition: bytes, timing: str, first_ms: int, job_name: str
) -> int:
    s, now = lib.s, clock.now_ms()
    data = dumps({"schedule": name})
    rec = s.schedules.get(name)
    if rec is None:
        s.schedules[name] = {
            "def": definition,
            "timing": timing,
            "paused": "0",
            "created_at": _fmt_s(now),
        }
        s.schedules_due.add(name, first_ms)
        lib.emit(now, "SCHEDULE_ADDED", "", job_name, "", data)
        return 1
    if rec.get("def") == definition and rec.get("timing") == timing:
        return 0
    moved = rec.get("timing") != timing and rec.get("paused") != "1"
    rec.update({"def": definition, "timing": timing})
    if moved:
        s.schedules_due.add(name, first_ms)
    lib.emit(now, "SCHEDULE_UPDATED", "", job_name, "", data)
    return 2


def due_schedules(lib: Lib, limit: int) -> DueSchedules:
    s, now = lib.s, clock.now_ms()
    zset = s.schedules_due
    due = []
    for name in zset.up_to(now, limit):
        rec = s.schedules.get(name) or {}
        due.append((name, bytes(rec.get("def") or b""), int(zset.score(name) or 0)))
    later = zset.after(now)
    return DueSchedules(now, due, None if later is None else int(later))


def fire_schedules(lib: Lib, items: Sequence[ScheduleFire]) -> list[bool]:
    s, now = lib.s, clock.now_ms()
    out: list[bool] = []
    ready = 0
    for item in items:
        rec = s.schedules.get(item.name)
        ok = rec is not None
        if ok and item.expected_ms is not None:
            ok = s.schedules_due.score(item.name) == item.expected_ms
        if not ok or rec is None:
            out.append(False)
            continue
        data = dumps(
            {
                "schedule": item.name,
                "tick": item.tick_ms / 1000,
                "missed": item.missed,
                "manual": item.expected_ms is None,
            }
        )
        if item.job_id:
            if lib.job(item.job_id, now) is None:
                s.seq += 1
                job: Record = {"created_at": _fmt_s(now), "seq": str(s.seq)}
                for key, value in item.fields.items():
                    job[key.decode() if isinstance(key, bytes) else str(key)] = _field(value)
                job["status"] = "pending"  # the encoded fields leave the default out
                s.jobs[item.job_id] = job
                lib.enqueue(item.job_id, job)
                lib.emit(
                    now,
                    "JOB_SUBMITTED",
                    item.job_id,
                    item.job_name,
                    "pending",
                    dumps({"priority": item.priority, "delay": 0}),
                )
                ready += 1
            rec.update(last_fire=str(item.tick_ms), last_job=item.job_id)
            lib.emit(now, "SCHEDULE_FIRED", item.job_id, item.job_name, "", data)
        else:
            lib.emit(now, "SCHEDULE_SKIPPED", "", item.job_name, "", data)
        if item.expected_ms is not None:
            s.schedules_due.add(item.name, item.next_ms)
        out.append(True)
    lib.wake(ready)
    lib.total(submitted=ready)
    lib.stat(now, submitted=ready)
    return out


def list_schedules(lib: Lib, name: str | None = None) -> list[RawSchedule]:
    s, now = lib.s, clock.now_ms()
    names = [name] if name else sorted(s.schedules)
    out = []
    for each in names:
        rec = s.schedules.get(each)
        if rec is None:
            continue
        last = rec.get("last_job")
        job = lib.job(last, now) if last else None
        due = s.schedules_due.score(each)
        out.append(
            RawSchedule(
                name=each,
                fields={k: v.decode() if isinstance(v, bytes) else str(v) for k, v in rec.items()},
                next_due_ms=None if due is None else int(due),
                last_status=None if job is None else job.get("status"),
            )
        )
    return out


def set_schedule_paused(lib: Lib, name: str, paused: bool, next_ms: int) -> int:
    s, now = lib.s, clock.now_ms()
    rec = s.schedules.get(name)
    if rec is None:
        return -1
    if (rec.get("paused") == "1") == paused:
        return 0
    data, job_name = dumps({"schedule": name}), _job_name(rec.get("def"))
    if paused:
        rec["paused"] = "1"
        s.schedules_due.remove(name)
        lib.emit(now, "SCHEDULE_PAUSED", "", job_name, "", data)
    else:
        rec["paused"] = "0"
        s.schedules_due.add(name, next_ms)
        lib.emit(now, "SCHEDULE_RESUMED", "", job_name, "", data)
    return 1


def remove_schedule(lib: Lib, name: str) -> bool:
    s = lib.s
    s.schedules_due.remove(name)
    if s.schedules.pop(name, None) is None:
        return False
    lib.emit(clock.now_ms(), "SCHEDULE_REMOVED", "", "", "", dumps({"schedule": name}))
    return True
