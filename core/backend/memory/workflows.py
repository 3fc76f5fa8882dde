"""The memory engine's mirror of `_workflows.lua`: jobs that wait for their parents, bounded
steps over a work list, results kept for children (expiry.py: jobs that expire unstarted;
family.py: reading a job's parents and children).

`Flows` holds what the Redis keys hold (`kids:<id>`, `ch:<id>`, `res:<id>`, `ua:<id>`,
`exp`, `wf`); a `FlowStep` is one transition's share of the work (the Lua `wf()` table): it
is made by the transition that needs it, and `run`/`flush` end it the way the scripts do.
Work items are tuples here, strings in Redis: ('k', id, status), ('l', id, gen, index),
('u', id, gen, index), ('v', id, index).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ...codec import dumps
from .clock import fmt_s
from .store import Record, _number, _ZSet

if TYPE_CHECKING:
    from .lib import Lib

__all__ = ["STEP", "FlowStep", "Flows", "parents_of"]

STEP = 500  # edges (or items, a stale one too) one transition resolves at most (W.STEP)
_INLINE = 500  # parents unpinned at once by a transition, past which a copy is stepped

Item = tuple[Any, ...]


@dataclass
class Flows:
    kids: dict[str, deque[str]] = field(default_factory=dict)  # kids:<id>: edges to resolve
    children: dict[str, list[str]] = field(default_factory=dict)  # ch:<id>
    kept: dict[str, tuple[Any, set[str]]] = field(default_factory=dict)  # res:<id>
    unpins: dict[str, list[str]] = field(default_factory=dict)  # ua:<id>
    expiring: _ZSet = field(default_factory=_ZSet)  # exp
    work: deque[Item] = field(default_factory=deque)  # wf


def _edge(job_id: str, gen: str) -> str:
    return job_id if gen in ("", "0") else f"{job_id}#{gen}"


def parents_of(rec: Record) -> list[str]:
    return str(rec.get("after") or "").split()


class FlowStep:
    """One transition's workflow work (the scripts' `wf()`), on `lib`'s store at `now`."""

    def __init__(self, lib: Lib, now: int) -> None:
        self.lib, self.now = lib, now
        self.f: Flows = lib.s.flows
        self.todo: list[Item] = []
        self.budget = 0
        self.inline = _INLINE
        self.released = self.dead = self.cancelled = self.expired = self.delayed = 0
        self.ready = 0
        self.popped_expired = 0  # expired by a claim's pops (expiry.EXPIRE_AT_POP)

    def status_of(self, job_id: str) -> str | None:
        rec = self.lib.job(job_id, self.now)
        return None if rec is None else str(rec.get("status") or "pending")

    def pin(self, pid: str, cid: str) -> None:
        kept = self.f.kept.get(pid)
        if kept is None:
            rec = self.lib.job(pid, self.now) or {}
            kept = self.f.kept[pid] = (rec.get("result") or b"", set())
        kept[1].add(cid)

    def unpin(self, pid: str, cid: str) -> None:
        kept = self.f.kept.get(pid)
        if kept is not None and cid in kept[1]:
            kept[1].discard(cid)
            if not kept[1]:
                del self.f.kept[pid]

    def ended(self, job_id: str, status: str, rec: Record) -> None:
        """ended(id, status, kids, parents, expires, gen): `rec` is the job's record."""
        if rec.get("expires"):
            self.f.expiring.remove(job_id)
        if rec.get("kids"):
            self.todo.append(("k", job_id, status))
        if rec.get("feed") is not None:
            self.unpin_all(job_id, str(rec.get("gen") or "0"), rec)

    def unpin_all(self, job_id: str, gen: str, rec: Record) -> None:
        parents = parents_of(rec)
        if len(parents) > self.inline:
            self.f.unpins[job_id] = parents
            self.todo.append(("u", job_id, gen, 0))
            return
        for pid in parents:
            self.unpin(pid, job_id)
            self.inline -= 1

    def release(self, cid: str, rec: Record) -> None:
        s = self.lib.s
        s.sets["waiting"].remove(cid)
        delay = _number(rec.get("rdelay"))
        if delay and delay > 0:
            status = "scheduled"
            rec.update(status=status, scheduled_for=fmt_s(self.now + int(delay)))
            s.sets["scheduled"].add(cid, self.now + int(delay))
            self.delayed += 1
        else:
            status = "pending"
            s.seq += 1
            rec.update(status=status, seq=str(s.seq))
            self.lib.enqueue(cid, rec)
            self.ready += 1
        self.released += 1
        self.lib.emit(self.now, "JOB_RELEASED", cid, rec.get("name"), status, b"")

    def count_down(self, cid: str, rec: Record) -> bool:
        left = int(_number(rec.get("wait")) or 0) - 1
        rec["wait"] = str(left)
        if left <= 0:
            self.release(cid, rec)
            return True
        return False

    def end_child(self, cid: str, rec: Record, status: str, pid: str, how: str) -> None:
        s, now, lib = self.lib.s, self.now, self.lib
        s.sets["waiting"].remove(cid)
        message = f"parent {pid} {how}"
        if status == "failed":
            rec.update(
                status="failed",
                finished_at=fmt_s(now),
                cause=pid,
                error=dumps({"type": "ParentFailed", "message": message}),
            )
            s.sets["dead"].add(cid, now)
            self.dead += 1
            data = {
                "reason": "parent",
                "parent": pid,
                "will_retry": False,
                "error_type": "ParentFailed",
                "error": message,
            }
            lib.emit(now, "JOB_FAILED", cid, rec.get("name"), "failed", dumps(data))
        else:
            rec.update(status="cancelled", finished_at=fmt_s(now), cause=pid)
            s.sets["cancelled"].add(cid, now)
            self.cancelled += 1
            data = {"reason": "parent", "parent": pid, "was": "waiting", "message": message}
            lib.emit(now, "JOB_CANCELLED", cid, rec.get("name"), "cancelled", dumps(data))
        lib.release_unique(cid, rec, now)
        self.ended(cid, status, rec)

    def parent_down(self, cid: str, rec: Record, pid: str, ps: str) -> bool:
        opf = rec.get("opf")
        if opf == "run":
            return self.count_down(cid, rec)
        if ps == "failed" and opf != "cancel":
            self.end_child(cid, rec, "failed", pid, "failed")
        elif ps == "gone":
            self.end_child(cid, rec, "cancelled", pid, "does not exist")
        else:
            how = "expired" if ps == "expired" else f"was {ps}"
            self.end_child(cid, rec, "cancelled", pid, how)
        return True

    def link(self, cid: str, rec: Record, pid: str, gen: str) -> bool:
        ps = self.status_of(pid)
        if ps == "completed":
            self.pin(pid, cid)
            return self.count_down(cid, rec)
        if ps in (None, "failed", "cancelled", "expired"):
            return self.parent_down(cid, rec, pid, ps or "gone")
        self.f.kids.setdefault(pid, deque()).append(_edge(cid, gen))
        if gen == "0":
            self.f.children.setdefault(pid, []).append(cid)
        parent = self.lib.s.jobs[pid]
        parent["kids"] = "1"
        return False

    def revive(self, cid: str, rec: Record, why: bytes) -> bool:
        lib, now, s = self.lib, self.now, self.lib.s
        if not lib.take_unique_back(cid, rec, now):
            return False
        gen = str(int(_number(rec.get("gen")) or 0) + 1)
        s.sets["dead"].remove(cid)
        rec.update(
            status="waiting",
            gen=gen,
            wait=str(len(parents_of(rec))),
            attempts="0",
            stalls="0",
        )
        for name in ("finished_at", "cause", "cancel", "scheduled_for", "held", "expires"):
            rec.pop(name, None)
        self.f.unpins.pop(cid, None)
        s.sets["waiting"].add(cid, now)
        lib.emit(now, "JOB_REQUEUED", cid, rec.get("name"), "waiting", why)
        self.todo.append(("l", cid, gen, 0))
        if rec.get("kids"):
            self.todo.append(("v", cid, 0))
        return True

    # -- the steps -----------------------------------------------------------------------
    def _k(self, job_id: str, status: str) -> Item | None:
        if status == "failed":
            now = self.status_of(job_id)
            if now is not None and now != "failed":
                return None
        edges = self.f.kids.get(job_id)
        want = min(self.budget, STEP)
        popped: list[str] = []
        while edges and len(popped) < want:
            popped.append(edges.popleft())
        if edges is not None and not edges:
            del self.f.kids[job_id]
        self.budget -= len(popped)
        for edge in popped:
            cid, _, gen = edge.partition("#")
            rec = self.lib.job(cid, self.now)
            if rec is None or rec.get("status") != "waiting":
                continue
            if str(rec.get("gen") or "0") != (gen or "0"):
                continue
            if status == "completed":
                self.pin(job_id, cid)
                self.count_down(cid, rec)
            else:
                self.parent_down(cid, rec, job_id, status)
        if len(popped) == want:
            return ("k", job_id, status)
        if status == "completed":
            self.unpin(job_id, "#walk")
        return None

    def _l(self, job_id: str, gen: str, at: int) -> Item | None:
        rec = self.lib.job(job_id, self.now)
        if rec is None or rec.get("status") != "waiting" or str(rec.get("gen") or "0") != gen:
            return None
        parents = parents_of(rec)
        while self.budget > 0:
            if at >= len(parents):
                return None
            self.budget -= 1
            at += 1
            if self.link(job_id, rec, parents[at - 1], gen):
                return None
        return ("l", job_id, gen, at)

    def _u(self, job_id: str, gen: str, at: int) -> Item | None:
        rec = self.lib.s.jobs.get(job_id)
        parents = self.f.unpins.get(job_id)
        if parents is None or (rec is not None and str(rec.get("gen") or "0") != gen):
            return None
        while self.budget > 0:
            if at >= len(parents):
                del self.f.unpins[job_id]
                return None
            self.budget -= 1
            at += 1
            self.unpin(parents[at - 1], job_id)
        return ("u", job_id, gen, at)

    def _v(self, job_id: str, at: int) -> Item | None:
        if self.status_of(job_id) == "failed":
            return None
        want = min(self.budget, STEP)
        kids = self.f.children.get(job_id, [])[at : at + want]
        self.budget -= len(kids)
        why = dumps({"reason": "parent_retried", "parent": job_id})
        for cid in kids:
            rec = self.lib.job(cid, self.now)
            if rec is not None and rec.get("status") == "failed" and rec.get("cause") == job_id:
                self.revive(cid, rec, why)
        if len(kids) < want:
            return None
        return ("v", job_id, at + len(kids))

    def run(self, budget: int) -> bool:
        """Own steps first, then the work list's, until `budget` edges are spent; what is
        left goes to the back of the work list. Returns whether work is left."""
        self.budget = budget
        steps: dict[str, Callable[..., Item | None]] = {
            "k": self._k, "l": self._l, "u": self._u, "v": self._v,
        }
        while self.budget > 0:
            if self.todo:
                item = self.todo.pop()
            elif self.f.work:
                item = self.f.work.popleft()
            else:
                break
            before = self.budget
            left = steps[item[0]](*item[1:])
            if self.budget == before:
                self.budget -= 1  # a stale item costs a step too
            if left is not None:
                self.todo.append(left)
        self.f.work.extend(self.todo)
        self.todo = []
        return bool(self.f.work)

    def flush(self, trim: bool, more: bool) -> None:
        lib, now = self.lib, self.now
        if self.delayed:
            lib.wake(1)
        lib.wake(self.ready + (1 if more else 0))
        lib.total(
            released=self.released,
            dead=self.dead,
            cancelled=self.cancelled,
            expired=self.expired,
        )
        if self.dead:
            lib.stat(now, failed=self.dead)
        if trim:
            history = lib.settings.history_max
            if self.dead:
                lib.trim_dead(now)
            if self.cancelled:
                lib.trim_history(now, "cancelled", history, 0)
            if self.expired:
                lib.trim_history(now, "expired", history, 0)
        self.released = self.dead = self.cancelled = self.expired = self.delayed = 0
        self.ready = 0

    def finish(self, budget: int = STEP, trim: bool = True) -> None:
        self.flush(trim, self.run(budget))
