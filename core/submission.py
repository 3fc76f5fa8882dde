"""What a submit is made of before it reaches a backend: `JobSpec` (one job of a bulk
submit), the checks that turn a caller's mapping into a job, and the error a bulk submit
raises when the server refused part of it, which says exactly what was queued."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .backend import Backend
from .errors import OutOfMemory
from .models import JobDefinition, JobPriority, new_job

__all__ = [
    "JobSpec",
    "field_cap",
    "new_from_mapping",
    "partial_submit_error",
    "spec_fields",
    "submit_in_chunks",
]

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job for `submit_jobs`; the same fields as `submit_job`'s arguments."""

    name: str
    args: tuple[Any, ...] | list[Any] = ()
    kwargs: Mapping[str, Any] | None = None
    priority: JobPriority | int | str = JobPriority.NORMAL
    max_retries: int = 0
    timeout: float | None = None
    delay: float = 0.0
    job_id: str | None = None
    unique_key: str | None = None
    unique_for: float | None = None


def partial_submit_error(
    failures: list[BaseException], accepted: list[str], total: int
) -> BaseException:
    """What a bulk submit raises when some chunks were refused: callers learn exactly which
    jobs were queued (`accepted`), never a bare error after a silent partial write."""
    for failure in failures:
        if not isinstance(failure, Exception):
            return failure  # a cancellation: let it through
    oom = next((f for f in failures if isinstance(f, OutOfMemory)), None)
    if oom is not None:
        return OutOfMemory(
            f"Redis is out of memory (maxmemory reached, policy noeviction): "
            f"{len(accepted)} of {total} jobs were queued (their ids are in .accepted), "
            f"{total - len(accepted)} were refused; free memory or raise maxmemory",
            accepted,
        )
    error = failures[0]
    error.add_note(f"{len(accepted)} of {total} jobs were queued before this error")
    error.accepted = accepted  # type: ignore[attr-defined]
    return error


def field_cap(max_field_bytes: int | None) -> int:
    if max_field_bytes is None:
        return 0
    if isinstance(max_field_bytes, bool) or not isinstance(max_field_bytes, int):
        raise TypeError("max_field_bytes: expected an int")
    if max_field_bytes < 1:
        raise ValueError(f"max_field_bytes: must be >= 1, got {max_field_bytes}")
    return max_field_bytes


def spec_fields(spec: JobSpec) -> dict[str, Any]:
    return {f: getattr(spec, f) for f in JobSpec.__dataclass_fields__}


def new_from_mapping(fields: Mapping[str, Any]) -> tuple[JobDefinition, float]:
    unknown = set(fields) - set(JobSpec.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if "name" not in fields:
        raise TypeError("name: missing")
    kwargs = fields.get("kwargs")
    return new_job(
        fields["name"],
        fields.get("args", ()),
        dict(kwargs) if isinstance(kwargs, Mapping) else kwargs,
        priority=fields.get("priority", JobPriority.NORMAL),
        max_retries=fields.get("max_retries", 0),
        timeout=fields.get("timeout"),
        delay=fields.get("delay", 0.0),
        job_id=fields.get("job_id"),
    )


async def submit_in_chunks(
    backend: Backend,
    jobs: Sequence[tuple[JobDefinition, float]],
    records: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Store validated jobs a thousand per call. Chunks go out back to back (Redis runs one
    while the next is on the wire); each is stored whole or not at all, and if some are
    refused the error names exactly the ids that were queued."""
    starts = range(0, len(jobs), CHUNK)
    results = await asyncio.gather(
        *(backend.submit(jobs[i : i + CHUNK], records[i : i + CHUNK]) for i in starts),
        return_exceptions=True,
    )
    ids: list[str] = []
    failures: list[BaseException] = []
    for start, result in zip(starts, results, strict=True):
        if isinstance(result, BaseException):
            failures.append(result)
            continue
        chunk = jobs[start : start + CHUNK]
        ids += [
            flag if isinstance(flag, str) else job.id
            for (job, _), flag in zip(chunk, result, strict=True)
        ]
    if failures:
        raise partial_submit_error(failures, ids, len(jobs))
    return ids
