"""A claimed job's record, decoded on the worker's hot path.

`codec.decode_record` reads any stored record, checking every field in every spelling (text
or bytes keys, markers of fields left unread), and was the largest single cost of a no-op
job in the worker. A claim reply has one fixed shape: the fields the claim script sends,
text keys, bytes or nil values. `decode_claimed` reads that shape directly and gives the
same `JobDefinition` `decode_record` would; anything else (a missing name, an error kept
from an earlier attempt, a value that is not the plain form) goes to `decode_record`, which
also makes every malformed record fail exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from ..codec import decode_record
from ..models import JobDefinition, JobPriority, JobProgress, JobStatus

__all__ = ["decode_claimed"]

#: The fields a claim reply carries (core/backend/redis/leases.py CLAIMED_FIELDS, the memory
#: backend's claim); tests/test_worker_claimed.py checks both replies take the short path.
_CLAIM_FIELDS = frozenset(
    {
        "name",
        "args",
        "kwargs",
        "max_retries",
        "timeout",
        "priority",
        "attempts",
        "status",
        "error",
        "stalls",
        "created_at",
        "scheduled_for",
        "meta",
        "feed",
    }
)
_PRIORITIES = {str(int(p)).encode(): p for p in JobPriority}
_RUNNING = b"running"
_NO_PROGRESS = JobProgress()  # frozen: one instance serves every job that has none


def decode_claimed(job_id: str, fields: Mapping[Any, Any]) -> JobDefinition:
    """The job `fields` describe; raises `codec.MalformedRecord` as `decode_record` does."""
    job = _plain(job_id, fields)
    return job if job is not None else decode_record(job_id, dict(fields))


def _plain(job_id: str, fields: Mapping[Any, Any]) -> JobDefinition | None:
    """The job, when `fields` are in the plain form a claim of a valid record gives; None
    sends the caller to the general decoder."""
    if not _CLAIM_FIELDS.issuperset(fields):
        return None
    get = fields.get
    name, status, error = get("name"), get("status"), get("error")
    if type(name) is not bytes or not name or error is not None or status != _RUNNING:
        return None
    try:
        text = name.decode()
        args = _json(get("args"), list)
        kwargs = _json(get("kwargs"), dict)
        raw_priority = get("priority")
        priority = JobPriority.NORMAL if raw_priority is None else _PRIORITIES[raw_priority]
        attempts, max_retries = _count(get("attempts")), _count(get("max_retries"))
        stalls = _count(get("stalls"))
        timeout, created, due = get("timeout"), get("created_at"), get("scheduled_for")
        timeout = None if timeout is None else _number(timeout)
        created = 0.0 if created is None else _number(created) or 0.0
        due = None if due is None else _number(due)
        meta = get("meta")
        meta = {} if meta is None else _json(meta, dict)
    except (ValueError, KeyError, TypeError):  # not the plain form: let decode_record judge
        return None
    if text == "<malformed>" or args is None or kwargs is None or meta is None:
        return None
    return JobDefinition(
        id=job_id,
        name=text,
        args=tuple(args),
        kwargs=kwargs,
        priority=priority,
        status=JobStatus.RUNNING,
        attempts=attempts,
        max_retries=max_retries,
        timeout=timeout,
        created_at=created,
        scheduled_for=due,
        stalls=stalls,
        progress=_NO_PROGRESS,
        meta=meta,
    )


def _json(raw: Any, kind: type) -> Any:
    """A stored JSON array or object (None: absent or empty; ValueError: anything else)."""
    if raw is None:
        return kind()
    if type(raw) is not bytes or not raw:
        raise ValueError
    value = orjson.loads(raw)
    return value if type(value) is kind else None


def _count(raw: Any) -> int:
    """A stored integer written by jobdeck: plain ASCII digits (else ValueError)."""
    if raw is None:
        return 0
    if type(raw) is not bytes or not raw.isdigit():
        raise ValueError
    return int(raw)


def _number(raw: Any) -> float:
    if type(raw) is not bytes or not raw:
        raise ValueError
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError  # decode_record's judgement, whatever it is
    return value
