"""Reading a job's family in the memory engine (parents.lua, family.lua): its parents'
results a page at a time, bounded in bytes, and its parents and children with their
statuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..records import ParentResult, Relatives
from . import clock
from .workflows import parents_of

if TYPE_CHECKING:
    from .lib import Lib

__all__ = ["PAGE_BYTES", "parent_results", "relatives"]

PAGE_BYTES = 2_097_152  # bytes of results one parent_results call reads (parents.lua)


def parent_results(
    lib: Lib, job_id: str, offset: int, count: int
) -> tuple[list[ParentResult], int]:
    now = clock.now_ms()
    rec = lib.job(job_id, now)
    parents = [] if rec is None else parents_of(rec)
    found: list[ParentResult] = []
    at, left = offset, PAGE_BYTES
    while at < len(parents) and count > 0 and left > 0:
        pid = parents[at]
        at += 1
        count -= 1
        prec = lib.job(pid, now)
        status = "" if prec is None else str(prec.get("status") or "pending")
        result = prec.get("result") if prec is not None and status == "completed" else None
        kept = lib.s.flows.kept.get(pid)
        if kept is not None:
            result = kept[0]
            status = status or "completed"
        raw = _bytes(result)
        found.append(ParentResult(pid, status, raw))
        left -= len(raw or b"")
    return found, (at if at < len(parents) else 0)


def _bytes(value: Any) -> bytes | None:
    if value is None or value == b"" or value == "":
        return None
    return value if isinstance(value, bytes) else str(value).encode()


def relatives(lib: Lib, job_id: str, limit: int) -> Relatives:
    now = clock.now_ms()

    def status(jid: str) -> str:
        rec = lib.job(jid, now)
        return "" if rec is None else str(rec.get("status") or "pending")

    rec = lib.job(job_id, now)
    parents = [] if rec is None else parents_of(rec)
    children = lib.s.flows.children.get(job_id, [])
    return Relatives(
        [(p, status(p)) for p in parents[:limit]],
        len(parents),
        [(c, status(c)) for c in children[:limit]],
        len(children),
    )
