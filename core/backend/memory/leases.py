"""Workers' transitions on the jobs they hold, in memory: claim, finish, progress and job
events (claim.lua, finish.lua, progress.lua, job_event.lua), each a plain function over the
backend's `Lib` that never yields to the event loop (atomic, as a script is)."""

from __future__ import annotations

from collections.abc import Generator, Sequence

from ...codec import dumps
from ..base import ClaimBatch, ClaimedJob, Finish, JobEmit, Outcome, ProgressUpdate
from . import clock
from .clock import fmt_s as _fmt_s
from .lib import Lib
from .store import _BAD_PER_CLAIM, _CLAIM_FIELDS, _VALID_ID, _int, _number, _pscore

__all__ = ["CLAIM_BYTES", "claim", "finish", "job_events", "progress"]

CLAIM_BYTES = 1_048_576  # claim.lua's: args, kwargs and errors one claim hands over at most


def _next_due(lib: Lib, now: int) -> float | None:
    first = lib.s.sets["scheduled"].first()
    return None if first is None else max(0, first[0] - now) / 1000


def claim(lib: Lib, worker_id: str, count: int, lease: float) -> ClaimBatch:
    s, now = lib.s, clock.now_ms()
    lib.recover(now, 20, lib.settings.max_stalls)
    pending, scheduled = s.sets["pending"], s.sets["scheduled"]
    for job_id in scheduled.up_to(now, 500):
        scheduled.remove(job_id)
        rec = lib.job(job_id, now)
        if rec is None:
            pending.add(job_id, 0)  # the pop below reports it as malformed
            continue
        s.seq += 1
        rec.update(status="pending", seq=str(s.seq))
        pending.add(job_id, _pscore(rec.get("priority"), s.seq))
    if s.paused is not None or count <= 0:
        return ClaimBatch([], paused=s.paused is not None, next_due=_next_due(lib, now))
    jobs: list[ClaimedJob] = []
    started, wait_ms, dead, size = 0, 0.0, 0, 0
    runnable = _pop_runnable(lib, count)
    for popped in runnable:
        job_id, fault = popped, None
        if not _VALID_ID.fullmatch(popped):
            s.seq += 1
            job_id = f"malformed-{s.seq}"
            raw = popped.encode()
            s.jobs.setdefault(job_id, {}).update(raw_id=raw[:4096], raw_id_length=str(len(raw)))
            fault = f"pending member is not a jobdeck id ({len(raw)} bytes, kept as raw_id)"
        elif lib.job(job_id, now) is None:
            fault = "job record is missing"
        if fault is not None:
            lib.dead_letter_malformed(now, job_id, fault)
            dead += 1
            continue
        rec = s.jobs[job_id]
        s.tokens += 1
        token = str(s.tokens)
        attempts = _int(rec.get("attempts")) + 1
        rec.update(
            attempts=str(attempts),
            status="running",
            token=token,
            worker=worker_id,
            started_at=_fmt_s(now),
        )
        s.sets["running"].add(job_id, now + int(lease * 1000))
        ready = _number(rec.get("scheduled_for"))
        if ready is None:
            ready = _number(rec.get("created_at"))
        if ready is not None:
            wait_ms += max(0.0, now - ready * 1000)
            lib.observe("wait", now - ready * 1000)
        started += 1
        lib.emit(
            now,
            "JOB_STARTED",
            job_id,
            rec.get("name"),
            "running",
            dumps({"worker": worker_id, "attempt": attempts}),
        )
        fields = {name: rec.get(name) for name in _CLAIM_FIELDS}
        fields.update(attempts=str(attempts), status="running")
        jobs.append(ClaimedJob(job_id, token, fields))
        size += sum(len(fields.get(name) or "") for name in ("args", "kwargs", "error"))
        if size >= CLAIM_BYTES:  # claim.lua: the rest of the batch goes back in front
            runnable.close()
            lib.wake(1)
            break
    lib.stat(now, started=started, wait_ms=wait_ms, failed=dead)
    lib.total(dead=dead)
    if dead:
        lib.trim_dead(now)
    if not pending:
        s.wake = 0
    return ClaimBatch(jobs, paused=False, next_due=_next_due(lib, now))


def _pop_runnable(lib: Lib, count: int) -> Generator[str, None, None]:
    """Pending ids until `count` of them were runnable: a bad entry (dead-lettered by the
    caller) does not use up a slot, so valid jobs behind a run of bad ones start in this
    claim instead of after the worker's idle wait. At most `_BAD_PER_CLAIM` extra."""
    pending, wanted, extra = lib.s.sets["pending"], count, 0
    while wanted > 0 and extra <= _BAD_PER_CLAIM:
        batch = pending.pop_min(wanted)
        if not batch:
            return
        for k, job_id in enumerate(batch):
            before = len(lib.s.sets["running"])
            try:
                yield job_id
            except GeneratorExit:  # the claim stopped here: the rest keep their places
                for rest in batch[k + 1 :]:
                    rec = lib.s.jobs.get(rest) or {}
                    pending.add(rest, _pscore(rec.get("priority"), rec.get("seq")))
                raise
            if len(lib.s.sets["running"]) > before:
                wanted -= 1
            else:
                extra += 1


def finish(lib: Lib, worker_id: str, items: Sequence[Finish]) -> list[bool]:
    s, now = lib.s, clock.now_ms()
    now_s, ttl = _fmt_s(now), int(lib.settings.result_ttl * 1000)
    out: list[bool] = []
    done = dead = cancelled = retried = released = 0
    run_ms = 0.0
    for item in items:
        job_id = item.job_id
        rec = lib.job(job_id, now)
        if rec is None or rec.get("token") != item.token or rec.get("status") != "running":
            out.append(False)
            continue
        out.append(True)
        s.sets["running"].remove(job_id)
        del rec["token"]
        name, data, outcome = rec.get("name"), item.event_data, item.outcome
        if rec.get("cancel") == "1" and outcome in (Outcome.RETRY, Outcome.RELEASE):
            # finish.lua: a cancel asked for while it ran is not lost to the next attempt
            if outcome == Outcome.RETRY:
                rec["error"] = item.payload
            data = dumps({"reason": "cancelled", "instead_of": outcome})
            outcome = Outcome.CANCELLED
        started = _number(rec.get("started_at"))
        if started is not None:
            run_ms += max(0.0, now - started * 1000)
            if outcome not in (Outcome.RELEASE, Outcome.CANCELLED):
                lib.observe("run", now - started * 1000)
        if outcome == Outcome.COMPLETED:
            rec.update(status="completed", result=item.payload, finished_at=now_s)
            s.sets["completed"].add(job_id, now)
            if ttl > 0:
                s.expires[job_id] = now + ttl
            done += 1
            lib.release_unique(job_id, rec, now)
            lib.emit(now, "JOB_COMPLETED", job_id, name, "completed", data)
        elif outcome == Outcome.RETRY:
            due = now + int(item.delay * 1000)
            rec.update(status="scheduled", error=item.payload, scheduled_for=_fmt_s(due))
            s.sets["scheduled"].add(job_id, due)
            retried += 1
            lib.emit(now, "JOB_FAILED", job_id, name, "scheduled", data)
        elif outcome == Outcome.RELEASE:
            # Handed back by a worker shutting down: first in line again, attempt not counted.
            rec.update(attempts=str(_int(rec.get("attempts")) - 1), status="pending")
            s.sets["pending"].add(job_id, _pscore(rec.get("priority"), rec.get("seq")))
            released += 1
            lib.emit(now, "JOB_REQUEUED", job_id, name, "pending", data)
        elif outcome == Outcome.CANCELLED:
            rec.update(status="cancelled", finished_at=now_s)
            s.sets["cancelled"].add(job_id, now)
            cancelled += 1
            lib.release_unique(job_id, rec, now)
            lib.emit(now, "JOB_CANCELLED", job_id, name, "cancelled", data)
        else:
            rec.update(status="failed", error=item.payload, finished_at=now_s)
            s.sets["dead"].add(job_id, now)
            dead += 1
            lib.emit(now, "JOB_FAILED", job_id, name, "failed", data)
            lib.release_unique(job_id, rec, now)
    if done:
        lib.trim_history(now, "completed", lib.settings.history_max, ttl)
    if cancelled:
        lib.trim_history(now, "cancelled", lib.settings.history_max, 0)
    if dead:
        lib.trim_dead(now)
    if retried:
        lib.wake(1)
    lib.wake(released)
    lib.total(completed=done, dead=dead, cancelled=cancelled, retried=retried, requeued=released)
    lib.stat(
        now,
        completed=done,
        failed=dead + retried,
        run_ms=run_ms,
        finished=done + dead + retried,
    )
    return out


def job_events(lib: Lib, items: Sequence[JobEmit]) -> int:
    now, stored = clock.now_ms(), 0
    for item in items:
        rec = lib.job(item.job_id, now)
        if rec is not None and rec.get("token") == item.token:
            lib.emit(now, item.event_type, item.job_id, rec.get("name"), "", item.data)
            stored += 1
    return stored


def progress(lib: Lib, items: Sequence[ProgressUpdate]) -> None:
    now = clock.now_ms()
    for item in items:
        rec = lib.job(item.job_id, now)
        if rec is not None and rec.get("token") == item.token:
            rec["progress"] = dumps([item.fraction, item.message])
            lib.emit(
                now,
                "JOB_PROGRESS",
                item.job_id,
                rec.get("name"),
                "running",
                dumps({"fraction": item.fraction, "message": item.message}),
            )
