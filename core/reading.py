"""Reading jobs back: one job or one page of a status (what `JobService.get_job` and
`list_jobs` do), a stored record we cannot decode still shown (as `<malformed>`, with the
reason), and the paging, count and field-size arguments every listing takes checked in one
place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .backend.base import Backend
from .codec import MalformedRecord, decode_record
from .models import JobDefinition, JobError, JobStatus

__all__ = ["check_count", "check_page", "decode_or_stub", "field_cap", "list_page"]


async def list_page(
    backend: Backend,
    ensure: Callable[[], Awaitable[None]],
    status: JobStatus | str,
    limit: int,
    offset: int,
    newest_first: bool | None,
    max_field_bytes: int | None,
) -> list[JobDefinition]:
    """`JobService.list_jobs`: the arguments checked before `ensure` connects, then one
    backend call. Finished jobs come newest first unless told otherwise."""
    status = JobStatus(status)
    check_page(limit, offset)
    if newest_first is None:
        newest_first = status.is_terminal
    await ensure()
    cap = field_cap(max_field_bytes)
    rows = await backend.list_jobs(status.value, limit, offset, newest_first, cap)
    return [decode_or_stub(job_id, fields) for job_id, fields in rows]


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


def field_cap(max_field_bytes: int | None) -> int:
    """A caller's `max_field_bytes` as a backend takes it (0: no cap)."""
    if max_field_bytes is None:
        return 0
    if isinstance(max_field_bytes, bool) or not isinstance(max_field_bytes, int):
        raise TypeError("max_field_bytes: expected an int")
    if max_field_bytes < 1:
        raise ValueError(f"max_field_bytes: must be >= 1, got {max_field_bytes}")
    return max_field_bytes
