"""The memory engine's jobs that expire unstarted (`_workflows.lua`'s W.expire, W.sweep and
expired_at_claim): a job whose `expires` passed ends `expired`, never run, wherever it waits,
and its children follow through the transition's FlowStep.

Each call is bounded as the scripts' are: a sweep ends at most `limit` jobs, and a claim's
pops end at most EXPIRE_AT_POP (the claim then stops as if full, its other popped ids back in
front, and wakes a worker to claim again)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...codec import dumps
from .clock import fmt_s
from .store import Record, _number
from .workflows import FlowStep

if TYPE_CHECKING:
    from .lib import Lib

__all__ = ["EXPIRE_AT_POP", "expire", "expired_at_claim", "sweep"]

EXPIRE_AT_POP = 100  # jobs a claim's pops expire at most (W.EXPIRE_AT_POP)


def expire(step: FlowStep, job_id: str, rec: Record, was: str, popped: bool) -> None:
    """Job `job_id`, never started, ends expired. `was`: the status it had; `popped`: its
    entry already left its pending line (a claim took it)."""
    s, now, lib = step.lib.s, step.now, step.lib
    if was == "pending" and not popped:
        s.lanes.remove(s.sets["pending"], job_id, rec)
    elif was == "scheduled":
        s.sets["scheduled"].remove(job_id)
    elif was == "waiting":
        s.sets["waiting"].remove(job_id)
    rec.pop("held", None)
    rec.update(status="expired", finished_at=fmt_s(now))
    s.sets["expired"].add(job_id, now)
    lib.release_unique(job_id, rec, now)
    step.expired += 1
    lib.emit(now, "JOB_EXPIRED", job_id, rec.get("name"), "expired", dumps({"was": was}))
    step.ended(job_id, "expired", rec)


def sweep(step: FlowStep, limit: int) -> None:
    """Jobs whose time passed, up to `limit`, end now, wherever they wait; entries of jobs
    that started or ended otherwise are dropped."""
    expiring = step.f.expiring
    for job_id in expiring.up_to(step.now, limit):
        rec = step.lib.job(job_id, step.now)
        status = None if rec is None else str(rec.get("status") or "pending")
        if rec is not None and status in ("pending", "scheduled", "waiting"):
            expire(step, job_id, rec, status, False)
        else:
            expiring.remove(job_id)


def expired_at_claim(lib: Lib, step: list[FlowStep], job_id: str, rec: Record, now: int) -> bool:
    """(claim) Whether a popped pending job's `expires` passed: it ends expired, never run
    (SEAMS: ghost -> expired -> not served -> over its limit -> lease). `step` holds the
    claim's FlowStep once one was needed; its `popped_expired` counts these for the
    claim's bound."""
    expires = _number(rec.get("expires"))
    if expires is None or expires * 1000 > now:
        return False
    if not step:
        step.append(FlowStep(lib, now))
    step[0].popped_expired += 1
    expire(step[0], job_id, rec, "pending", True)
    return True
