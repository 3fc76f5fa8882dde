"""Reading jobs back: a stored record we cannot decode is still shown (as `<malformed>`,
with the reason), and the paging and count arguments every listing takes are checked in
one place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .codec import MalformedRecord, decode_record
from .models import JobDefinition, JobError, JobStatus

__all__ = ["check_count", "check_page", "decode_or_stub"]


def decode_or_stub(job_id: str, fields: Mapping[Any, Any]) -> JobDefinition:
    """A record we cannot read is still shown (as `<malformed>` with the reason), never
    dropped and never a crash of the caller."""
    try:
        return decode_record(job_id, dict(fields))
    except MalformedRecord as exc:
        raw = fields.get(b"status", fields.get("status")) or "pending"  # decode_record's default
        try:
            # Where it is in its life is still true: a malformed pending job is pending until
            # a worker dead-letters it.
            status = JobStatus(raw.decode() if isinstance(raw, bytes) else raw)
        except (ValueError, UnicodeDecodeError, AttributeError):
            status = JobStatus.FAILED
        return JobDefinition(
            id=job_id,
            name="<malformed>",
            status=status,
            error=JobError("MalformedRecord", str(exc)),
        )


def check_page(limit: int, offset: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise ValueError(f"limit: expected 1-10000, got {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset: expected an integer >= 0, got {offset!r}")


def check_count(count: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 10_000:
        raise ValueError(f"count: expected an integer 0-10000, got {count!r}")
    return count
