"""Workers' transitions on the jobs they hold, in memory: claim, finish, progress and job
events (claim.lua, finish.lua, progress.lua, job_event.lua), each a plain function over the
backend's `Lib` that never yields to the event loop (atomic, as a script is)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ...codec import dumps
from ..base import ClaimBatch, ClaimedJob, Finish, JobEmit, Outcome, ProgressUpdate
from . import clock, expiry, history
from .clock import fmt_s as _fmt_s
from .expiry import EXPIRE_AT_POP, expired_at_claim
from .lib import Lib
from .store import _BAD_PER_CLAIM, _CLAIM_FIELDS, _VALID_ID, _int, _number
from .throttle import Limit
from .workflows import STEP, FlowStep

__all__ = ["CLAIM_BYTES", "claim", "finish", "job_events", "progress"]

CLAIM_BYTES = 524_288  # claim.lua's: args, kwargs and errors one claim hands over at most
_ENDS = ("completed", "failed", "cancelled")


def _next_due(lib: Lib, now: int) -> float | None:
    first = lib.s.sets["scheduled"].first()
    due = None if first is None else max(0, first[0] - now)
    ready = lib.s.lanes.throttle.next_ready()
    if ready is not None and (due is None or ready - now < due):
        due = max(0, ready - now)
    return None if due is None else due / 1000


def claim(
    lib: Lib, worker_id: str, count: int, lease: float, handlers: Collection[str] | None = None
) -> ClaimBatch:
    s, now = lib.s, clock.now_ms()
    stalled_out = lib.recover(now, 20, lib.settings.max_stalls)
    scheduled = s.sets["scheduled"]
    for job_id in scheduled.up_to(now, 500):
        scheduled.remove(job_id)
        rec = lib.job(job_id, now)
        if rec is None:
            s.sets["pending"].add(job_id, 0)  # the claim below reports it as malformed
            continue
        s.seq += 1
        rec.update(status="pending", seq=str(s.seq))
        lib.enqueue(job_id, rec)
    flows: list[FlowStep] = []  # (workflows) the claim's FlowStep, once one is needed
    if stalled_out or s.flows.work or len(s.flows.expiring):
        step = FlowStep(lib, now)
        flows.append(step)
        for job_id, status in stalled_out:
            rec = s.jobs.get(job_id)
            if rec is not None:
                step.ended(job_id, status, rec)
        expiry.sweep(step, 100)
        step.finish()
    if s.paused is not None or count <= 0:
        return ClaimBatch([], paused=s.paused is not None, next_due=_next_due(lib, now))
    run = _Claim(lib, worker_id, count, lease, handlers, now, flows)
    run.take_aside()
    run.take_main()
    s.lanes.throttle.limits_done(run.memo, now)
    if flows:  # the children of the jobs this claim expired are resolved now
        flows[0].finish(STEP if flows[0].todo else 0)
    lib.stat(now, started=len(run.jobs), wait_ms=run.wait_ms, failed=run.dead)
    lib.total(dead=run.dead)
    if run.dead:
        lib.trim_dead(now)
    if run.full:  # claim.lua: the rest went back in front; the worker claims again at once
        lib.wake(1)
    elif run.dry:
        s.wake = 0
    return ClaimBatch(run.jobs, paused=False, next_due=_next_due(lib, now))


class _Claim:
    """One claim (claim.lua): jobs set aside first when they can run, then the main lines
    and groups by priority; each popped id leased, set aside again, or dead-lettered."""

    def __init__(
        self,
        lib: Lib,
        worker_id: str,
        count: int,
        lease: float,
        handlers: Collection[str] | None,
        now: int,
        flows: list[FlowStep],
    ) -> None:
        self.lib, self.worker_id, self.count, self.now = lib, worker_id, count, now
        self.flows = flows
        self.lease_ms = int(lease * 1000)
        self.handlers = None if handlers is None else set(handlers)
        self.jobs: list[ClaimedJob] = []
        self.wait_ms = 0.0
        self.dead = self.aside = 0
        self.memo: dict[str, Limit | None] = {}
        self.dry = False
        self.size = 0  # bytes of args, kwargs and errors handed over (CLAIM_BYTES)
        self.full = False

    def busy(self) -> bool:
        return (
            self.full
            or len(self.jobs) >= self.count
            or self.dead + self.aside > _BAD_PER_CLAIM
        )

    def take_aside(self) -> None:
        lanes = self.lib.s.lanes
        throttle = lanes.throttle
        if self.handlers is None:
            names = [name for _, name in reversed(lanes.parked.items())][:100]
        else:
            names = [name for name in self.handlers if lanes.parked.score(name)]
        for name in names:
            if self.busy():
                break
            while not self.busy() and (parked := lanes.pop_parked(name, 1)):
                lanes.unpark(name)
                self.take(parked[0])
        for key in throttle.held.up_to(self.now, 100):
            if self.busy():
                break
            lim = throttle.limit_of(key, self.memo)
            while not self.busy() and (lim is None or throttle.has_room(lim, self.now)):
                held = throttle.pop_held(key)
                if held is None:
                    break
                throttle.unhold(self.lib.job(held, self.now))
                self.take(held)
            if lim is not None:
                lim.holding = True
            else:
                throttle.drop_held_key(key)

    def take_main(self) -> None:
        lanes, main = self.lib.s.lanes, self.lib.s.sets["pending"]
        turns = [4 * self.count + _BAD_PER_CLAIM]
        level = 3
        while not self.busy() and level >= 0 and turns[0] > 0:
            popped, dry = lanes.pop_level(main, level, self.count - len(self.jobs), turns)
            if dry:
                level -= 1
            for k, job_id in enumerate(popped):
                if self.full:  # the rest go back in front of their lines, in order
                    for rest in reversed(popped[k:]):
                        self.lib.enqueue(rest, self.lib.s.jobs.get(rest) or {}, front=True)
                    break
                self.take(job_id)
        self.dry = level < 0

    def take(self, popped: str) -> None:
        lib, now = self.lib, self.now
        s, lanes = lib.s, lib.s.lanes
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
            self.dead += 1
            return
        rec = s.jobs[job_id]
        if expired_at_claim(lib, self.flows, job_id, rec, now):
            self.aside += 1  # (workflows) ended expired, never run (EXPIRE_AT_POP a claim)
            self.full = self.full or self.flows[0].popped_expired >= EXPIRE_AT_POP
            return
        key = rec.get("limit")
        lim = lanes.throttle.limit_of(key, self.memo) if key else None
        name = rec.get("name")
        if self.handlers is not None and isinstance(name, str) and name not in self.handlers:
            lanes.park(job_id, rec)
            self.aside += 1
            return
        if lim is not None and not lanes.throttle.has_room(lim, now):
            lanes.hold(job_id, rec, lim)
            self.aside += 1
            return
        if key:
            lanes.throttle.take_slot(lim, key, job_id, rec)
        if rec.get("expires"):
            s.flows.expiring.remove(job_id)
        s.tokens += 1
        token = str(s.tokens)
        attempts = _int(rec.get("attempts")) + 1
        rec.update(
            attempts=str(attempts),
            status="running",
            token=token,
            worker=self.worker_id,
            started_at=_fmt_s(now),
        )
        s.sets["running"].add(job_id, now + self.lease_ms)
        ready = _number(rec.get("scheduled_for"))
        if ready is None:
            ready = _number(rec.get("created_at"))
        if ready is not None:
            self.wait_ms += max(0.0, now - ready * 1000)
            lib.observe("wait", now - ready * 1000)
        lib.emit(
            now,
            "JOB_STARTED",
            job_id,
            rec.get("name"),
            "running",
            dumps({"worker": self.worker_id, "attempt": attempts}),
        )
        fields = {name: rec.get(name) for name in _CLAIM_FIELDS}
        fields.update(attempts=str(attempts), status="running")
        self.jobs.append(ClaimedJob(job_id, token, fields))
        self.size += sum(len(fields.get(name) or "") for name in ("args", "kwargs", "error"))
        self.full = self.size >= CLAIM_BYTES


def finish(lib: Lib, worker_id: str, items: Sequence[Finish]) -> list[bool]:
    s, now = lib.s, clock.now_ms()
    now_s, ttl = _fmt_s(now), int(lib.settings.result_ttl * 1000)
    out: list[bool] = []
    done = dead = cancelled = retried = released = woken = 0
    run_ms = 0.0
    step = FlowStep(lib, now)
    flowing = False
    for item in items:
        job_id = item.job_id
        rec = lib.job(job_id, now)
        if rec is None or rec.get("token") != item.token or rec.get("status") != "running":
            out.append(False)
            continue
        out.append(True)
        s.sets["running"].remove(job_id)
        del rec["token"]
        woken += s.lanes.throttle.free_slot(job_id, rec, now)
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
            keep = _int(rec.get("rttl")) or ttl  # its own result ttl wins (finish.lua)
            if keep > 0:
                s.expires[job_id] = now + keep
            done += 1
            history.count_name(s, name, "c")
            lib.release_unique(job_id, rec, now)
            lib.emit(now, "JOB_COMPLETED", job_id, name, "completed", data)
            if rec.get("kids"):
                s.flows.kept[job_id] = (item.payload, {"#walk"})
        elif outcome == Outcome.RETRY:
            due = now + int(item.delay * 1000)
            rec.update(status="scheduled", error=item.payload, scheduled_for=_fmt_s(due))
            s.sets["scheduled"].add(job_id, due)
            retried += 1
            history.count_name(s, name, "f")
            lib.emit(now, "JOB_FAILED", job_id, name, "scheduled", data)
        elif outcome == Outcome.RELEASE:
            # Handed back by a worker shutting down: first in line again, attempt not counted.
            rec.update(attempts=str(_int(rec.get("attempts")) - 1), status="pending")
            lib.enqueue(job_id, rec, front=True)
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
            history.count_name(s, name, "f")
            lib.emit(now, "JOB_FAILED", job_id, name, "failed", data)
            lib.release_unique(job_id, rec, now)
        if rec.get("status") in _ENDS and (rec.get("kids") or rec.get("feed") is not None):
            step.ended(job_id, str(rec["status"]), rec)
            flowing = True
    if done:
        lib.trim_history(now, "completed", lib.settings.history_max, ttl)
    if cancelled:
        lib.trim_history(now, "cancelled", lib.settings.history_max, 0)
    if dead:
        lib.trim_dead(now)
    if retried:
        lib.wake(1)
    lib.wake(released + woken)
    lib.total(completed=done, dead=dead, cancelled=cancelled, retried=retried, requeued=released)
    lib.stat(
        now,
        completed=done,
        failed=dead + retried,
        run_ms=run_ms,
        finished=done + dead + retried,
    )
    if flowing:
        step.finish()
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
