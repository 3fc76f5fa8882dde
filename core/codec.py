"""JSON on the wire, never pickle; and the flat record a job is stored as.

Both backends store a job as a flat mapping of field -> text (a Redis hash, or a dict in
memory), so one decoder validates what comes back and turns anything malformed into a
`MalformedRecord` that names the fault, instead of an exception deep inside a worker.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .models import JobDefinition

__all__ = [
    "JSONError",
    "MalformedRecord",
    "decode_control",
    "decode_record",
    "dumps",
    "encodable",
    "encode_fields",
    "encode_record",
    "loads",
]

JSONError = (TypeError, ValueError, orjson.JSONEncodeError)


class MalformedRecord(ValueError):
    """A record found in the store does not describe a job jobdeck can run."""


def dumps(value: Any) -> bytes:
    """Strict JSON: no NaN tricks, no arbitrary objects, non-string keys refused.

    orjson writes NaN and Infinity as `null`, which would hand a handler `None` for a number;
    they are refused instead. Only output that contains `null` is searched for them.
    """
    data = orjson.dumps(value)
    if b"null" in data and _non_finite(value):
        raise ValueError("NaN and Infinity are not JSON")
    return data


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_non_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_non_finite(item) for item in value)
    return False


def encodable(text: str) -> str:
    """`text` as it can be stored: a lone surrogate (a non-UTF-8 filename from `os.listdir`
    carries them) becomes its visible escape `\\udce9` instead of failing the encoder.
    For text a handler produced (errors, progress), which must never fail to be recorded."""
    try:
        text.encode()
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)


def decode_control(raw: list[Any]) -> list[dict[str, Any]]:
    """Control messages as objects; anything else found in a control queue is skipped."""
    messages = []
    for item in raw:
        try:
            message = loads(item)
        except ValueError:
            continue
        if isinstance(message, dict):
            messages.append(message)
    return messages


#: JobPriority.NORMAL, the default a missing 'priority' field stands for (models imports codec).
_NORMAL_PRIORITY = 1


def _opt(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def encode_record(job: JobDefinition) -> dict[str, str | bytes]:
    """The fields a backend stores for a freshly submitted job. Raises `TypeError` naming
    the field if args or kwargs are not JSON."""
    return encode_fields(
        job.name,
        job.status.value,
        job.args,
        job.kwargs,
        int(job.priority),
        job.max_retries,
        job.timeout,
    )


def encode_fields(
    name: str,
    status: str,
    args: tuple[Any, ...] | list[Any],
    kwargs: dict[str, Any],
    priority: int,
    max_retries: int,
    timeout: float | None,
) -> dict[str, str | bytes]:
    """`encode_record` from already validated values, without a `JobDefinition`: the submit
    path builds the record straight from a caller's arguments (a dataclass per job cost
    more than the rest of a submit's Python together)."""
    record: dict[str, str | bytes] = {"name": name}
    # Defaults (pending, no args, no kwargs, normal priority, no retries, no timeout, zero
    # attempts) are left out: every reader (decode_record, the Lua scripts) treats a missing
    # field as its default, and a pending job with small args is ~45 bytes smaller in Redis.
    if status != "pending":
        record["status"] = status
    # orjson writes a tuple as an array, so args are encoded as given, never copied.
    if args:
        try:
            record["args"] = dumps(args)
        except JSONError as exc:
            raise TypeError(f"args: not JSON-serializable ({exc})") from None
    if kwargs:
        try:
            record["kwargs"] = dumps(kwargs)
        except JSONError as exc:
            raise TypeError(f"kwargs: not JSON-serializable ({exc})") from None
    if priority != _NORMAL_PRIORITY:
        record["priority"] = str(priority)
    if max_retries:
        record["max_retries"] = str(max_retries)
    if timeout is not None:
        record["timeout"] = _opt(timeout)
    return record


def _text(fields: dict[Any, Any], key: str) -> str | None:
    raw = fields.get(key)
    if raw is None:
        raw = fields.get(key.encode())
    if raw is None:
        return None
    if isinstance(raw, bytes):
        try:
            return raw.decode()
        except UnicodeDecodeError:
            raise MalformedRecord(f"field {key!r} is not UTF-8") from None
    return str(raw)


def _float(fields: dict[Any, Any], key: str) -> float | None:
    text = _text(fields, key)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise MalformedRecord(f"field {key!r} is not a number: {text[:40]!r}") from None


def _int(fields: dict[Any, Any], key: str, default: int = 0) -> int:
    text = _text(fields, key)
    if not text:
        return default
    try:
        return int(float(text))
    except ValueError:
        raise MalformedRecord(f"field {key!r} is not an integer: {text[:40]!r}") from None


def _json(fields: dict[Any, Any], key: str, default: Any) -> Any:
    raw = fields.get(key)
    if raw is None:
        raw = fields.get(key.encode())
    if raw is None or raw in (b"", ""):
        return default
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedRecord(f"field {key!r} is not valid JSON ({exc})") from None


def decode_record(job_id: str, fields: dict[Any, Any]) -> JobDefinition:
    """Build a `JobDefinition` from stored fields, or raise `MalformedRecord` saying why."""
    from .models import JobDefinition, JobError, JobPriority, JobProgress, JobStatus

    if not fields:
        raise MalformedRecord("record is missing or empty")
    omitted = _omitted(fields)
    name = _text(fields, "name")
    if not name:
        raise MalformedRecord("field 'name' is missing")
    args = _json(fields, "args", [])
    if not isinstance(args, list):
        raise MalformedRecord("field 'args' is not a JSON array")
    kwargs = _json(fields, "kwargs", {})
    if not isinstance(kwargs, dict):
        raise MalformedRecord("field 'kwargs' is not a JSON object")
    try:
        priority = JobPriority(_int(fields, "priority", int(JobPriority.NORMAL)))
    except ValueError:
        raise MalformedRecord("field 'priority' is out of range") from None
    try:
        status = JobStatus(_text(fields, "status") or "pending")
    except ValueError:
        raise MalformedRecord("field 'status' is not a known status") from None
    meta = _json(fields, "meta", {})
    if not isinstance(meta, dict):
        raise MalformedRecord("field 'meta' is not a JSON object")
    rttl = _float(fields, "rttl")
    progress_raw = _json(fields, "progress", None)
    progress = JobProgress()
    if isinstance(progress_raw, list) and len(progress_raw) == 2:
        try:
            progress = JobProgress(float(progress_raw[0]), str(progress_raw[1]))
        except (TypeError, ValueError):
            progress = JobProgress()
    return JobDefinition(
        id=job_id,
        name=name,
        args=tuple(args),
        kwargs=kwargs,
        priority=priority,
        status=status,
        attempts=_int(fields, "attempts"),
        max_retries=_int(fields, "max_retries"),
        timeout=_float(fields, "timeout"),
        created_at=_float(fields, "created_at") or 0.0,
        scheduled_for=_float(fields, "scheduled_for"),
        started_at=_float(fields, "started_at"),
        finished_at=_float(fields, "finished_at"),
        progress=progress,
        result=_json(fields, "result", None),
        error=JobError.from_dict(_json(fields, "error", None)),
        worker=_text(fields, "worker") or None,
        stalls=_int(fields, "stalls"),
        cancel_requested=_text(fields, "cancel") == "1",
        omitted=omitted,
        limit=_text(fields, "limit") or None,
        group=_text(fields, "group") or None,
        throttled=(_text(fields, "held") or None) if status == JobStatus.PENDING else None,
        meta=meta,
        result_ttl=None if rttl is None else rttl / 1000,
        parents=tuple((_text(fields, "after") or "").split()),
        waiting_for=_int(fields, "wait") if status == JobStatus.WAITING else 0,
        on_parent_failure=_text(fields, "opf") or "fail",
        expires_at=_float(fields, "expires"),
    )


_OMITTED = "__omitted:"


def _omitted(fields: dict[Any, Any]) -> dict[str, int]:
    """The `__omitted:<field>` markers a capped read leaves for values it did not read."""
    found: dict[str, int] = {}
    for key, value in fields.items():
        name = key.decode(errors="replace") if isinstance(key, bytes) else str(key)
        if name.startswith(_OMITTED):
            try:
                found[name[len(_OMITTED) :]] = int(value)
            except (TypeError, ValueError):
                continue
    return found
