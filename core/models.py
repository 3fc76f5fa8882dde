"""The job record and its vocabulary: statuses, priorities, errors, progress.

A `JobDefinition` is what callers see. It is built from the flat record a backend stores, and
validated at the edge (`new_job`) so that nothing malformed is ever written by jobdeck itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from typing import Any, NamedTuple

from .ids import SCHEDULER_ID_PREFIX, new_id, refuse_reserved, valid_id

__all__ = [
    "JobDefinition",
    "JobError",
    "JobPriority",
    "JobProgress",
    "JobStatus",
    "Submission",
    "check_job_name",
    "check_submission",
    "new_job",
    "parse_priority",
]

MAX_NAME_LENGTH = 200
#: The longest delay a job may be submitted with: ten years. A far-future due time is almost
#: certainly a unit mistake, and past this, times stop fitting the backends' millisecond
#: integers and the views' calendars (1e300 s used to be accepted and crash the console).
MAX_DELAY = 10 * 365 * 86400.0
#: The longest per-attempt timeout: thirty days (a lease is renewed, a timer is not forever).
MAX_TIMEOUT = 30 * 86400.0


class JobStatus(StrEnum):
    """Where a job is in its life. `FAILED` means retries are exhausted: it is a dead letter.
    `WAITING`: submitted after other jobs (`after=`, a chain, a group's `then`) that have not
    all finished. `EXPIRED`: its `expires` time passed before it started; it never ran."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    WAITING = "waiting"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.EXPIRED}
)


class JobPriority(IntEnum):
    """Higher runs first; jobs of equal priority run in submission order."""

    LOW = 0
    NORMAL = 1
    HIGH = 2
    CRITICAL = 3


def parse_priority(value: object) -> JobPriority:
    """Accept a `JobPriority`, its integer value or its name (any case)."""
    if isinstance(value, JobPriority):
        return value
    if isinstance(value, bool):
        raise ValueError(f"priority: expected one of {_priority_names()}, got {value!r}")
    if isinstance(value, int):
        try:
            return JobPriority(value)
        except ValueError:
            raise ValueError(
                f"priority: expected one of {_priority_names()} (0-3), got {value!r}"
            ) from None
    if isinstance(value, str):
        try:
            return JobPriority[value.strip().upper()]
        except KeyError:
            raise ValueError(
                f"priority: expected one of {_priority_names()}, got {value!r}"
            ) from None
    raise TypeError(f"priority: expected JobPriority, int or str, got {type(value).__name__}")


def _priority_names() -> str:
    return ", ".join(p.name.lower() for p in JobPriority)


@dataclass(frozen=True, slots=True)
class JobError:
    """Why an attempt failed. `type` is machine-readable (an exception class or a jobdeck reason
    such as `UnknownHandler`, `MalformedRecord`, `Stalled`, `Timeout`)."""

    type: str
    message: str
    traceback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "traceback": self.traceback}

    @classmethod
    def from_dict(cls, data: Any) -> JobError | None:
        if not isinstance(data, dict):
            return None
        return cls(
            type=str(data.get("type") or "Error"),
            message=str(data.get("message") or ""),
            traceback=data.get("traceback") if isinstance(data.get("traceback"), str) else None,
        )


@dataclass(frozen=True, slots=True)
class JobProgress:
    """A handler's own estimate of how far it got: `fraction` in [0, 1] and a short message."""

    fraction: float = 0.0
    message: str = ""


@dataclass(frozen=True, slots=True)
class JobDefinition:
    """One job as stored. Times are Unix seconds (server clock for the Redis backend)."""

    id: str
    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    priority: JobPriority = JobPriority.NORMAL
    status: JobStatus = JobStatus.PENDING
    attempts: int = 0
    max_retries: int = 0
    timeout: float | None = None
    created_at: float = 0.0
    scheduled_for: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    progress: JobProgress = field(default_factory=JobProgress)
    result: Any = None
    error: JobError | None = None
    worker: str | None = None
    stalls: int = 0
    cancel_requested: bool = False
    #: Fields not read because they were larger than the caller's `max_field_bytes`: field
    #: name -> stored size in bytes (args, kwargs, result, error, progress fall back to empty).
    omitted: dict[str, int] = field(default_factory=dict)
    limit: str | None = None  # the limit key it runs under (`submit_job(limit=)`)
    group: str | None = None  # the group it takes turns with (`submit_job(group=)`)
    #: While pending and held by a limit (throttled): the limit holding it (a key, or the
    #: template that covers `limit`); None otherwise.
    throttled: str | None = None
    #: The caller's small JSON object kept with the job (`submit_job(meta=)`).
    meta: dict[str, Any] = field(default_factory=dict)
    #: Seconds its record is kept once completed, when it has its own (`result_ttl=`).
    result_ttl: float | None = None
    #: (workflows) The jobs it runs after (`after=`, a chain, a group's `then`), in order;
    #: how many of them it still waits for, and what it does when one does not complete.
    parents: tuple[str, ...] = ()
    waiting_for: int = 0
    on_parent_failure: str = "fail"
    #: When it expires if it has not started by then (Unix seconds), None for never.
    expires_at: float | None = None

    @property
    def wait_time(self) -> float | None:
        """Seconds from becoming runnable to starting (or to now's caller, if unstarted)."""
        if self.started_at is None:
            return None
        ready = self.scheduled_for or self.created_at
        return max(0.0, self.started_at - ready)

    @property
    def run_time(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.started_at)

    @property
    def status_text(self) -> str:
        """Its status as `jobdeck job show` and the console's detail say it: a cancel asked
        of a job that has not ended yet (its handler is being stopped) is added, one that
        took is not (`cancelled (cancel requested)` said it twice)."""
        if self.cancel_requested and self.status is not JobStatus.CANCELLED:
            return f"{self.status.value} (cancel requested)"
        return self.status.value

    def evolve(self, **changes: Any) -> JobDefinition:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The job as plain JSON data, in the HTTP API's names (`jobdeck job show --json`)."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "priority": self.priority.name.lower(),
            "args": list(self.args),
            "kwargs": self.kwargs,
            "attempts": self.attempts,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "created_at": self.created_at,
            "scheduled_for": self.scheduled_for,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "wait_time": self.wait_time,
            "run_time": self.run_time,
            "progress": {"fraction": self.progress.fraction, "message": self.progress.message},
            "result": self.result,
            "error": None if self.error is None else self.error.to_dict(),
            "worker": self.worker,
            "stalls": self.stalls,
            "cancel_requested": self.cancel_requested,
            "omitted": self.omitted,
            "limit": self.limit,
            "group": self.group,
            "throttled": self.throttled,
            "meta": self.meta,
            "result_ttl": self.result_ttl,
            "parents": list(self.parents),
            "waiting_for": self.waiting_for,
            "on_parent_failure": self.on_parent_failure,
            "expires_at": self.expires_at,
        }


class Submission(NamedTuple):
    """A submission's values once `check_submission` accepted them, normalized: what a job's
    record is built from."""

    name: str
    args: tuple[Any, ...] | list[Any]
    kwargs: dict[str, Any]
    priority: JobPriority
    max_retries: int
    timeout: float | None
    delay: float  # seconds, 0.0 under a millisecond
    job_id: str


def check_submission(
    name: object,
    args: object = (),
    kwargs: object = None,
    *,
    priority: object = JobPriority.NORMAL,
    max_retries: object = 0,
    timeout: object = None,
    delay: object = 0.0,
    job_id: object = None,
) -> Submission:
    """Validate a submission, every error naming the field at fault, so a caller at a shell
    or in code knows what to fix; a new id when none is given. Whether args and kwargs are
    JSON is checked when they are encoded (`codec.encode_fields`), once, before anything is
    written."""
    name = check_job_name(name)
    if not isinstance(args, (tuple, list)):
        raise TypeError(f"args: expected a tuple or list, got {type(args).__name__}")
    kwargs = {} if kwargs is None else kwargs
    if not isinstance(kwargs, dict):
        raise TypeError(f"kwargs: expected a dict, got {type(kwargs).__name__}")
    if any(not isinstance(k, str) for k in kwargs):
        raise TypeError("kwargs: keys must be strings")
    prio = parse_priority(priority)
    if isinstance(max_retries, bool) or not isinstance(max_retries, int):
        raise TypeError(f"max_retries: expected int, got {type(max_retries).__name__}")
    if max_retries < 0:
        raise ValueError(f"max_retries: must be >= 0, got {max_retries}")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout: expected a number of seconds, got {type(timeout).__name__}")
        if not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"timeout: must be a positive number of seconds, got {timeout}")
        if timeout > MAX_TIMEOUT:
            raise ValueError(
                f"timeout: at most {MAX_TIMEOUT:.0f} seconds (30 days), got {timeout:g}"
            )
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise TypeError(f"delay: expected a number of seconds, got {type(delay).__name__}")
    if not math.isfinite(delay) or delay < 0:
        raise ValueError(f"delay: must be >= 0 seconds, got {delay}")
    if delay > MAX_DELAY:
        raise ValueError(f"delay: at most {MAX_DELAY:.0f} seconds (10 years), got {delay:g}")
    if delay < 0.001:  # backends keep whole milliseconds: less is no delay at all
        delay = 0.0
    if job_id is None:
        job_id = new_id()
    elif not isinstance(job_id, str) or not valid_id(job_id):
        raise ValueError("job_id: 1-128 characters of letters, digits, '-', '_', '.' or ':'")
    else:
        refuse_reserved("job_id", job_id)
        if job_id.startswith(SCHEDULER_ID_PREFIX):
            raise ValueError(
                f"job_id: ids starting with {SCHEDULER_ID_PREFIX!r} are the scheduler's (one "
                "per schedule tick); choose another"
            )
    return Submission(
        name,
        args,
        kwargs,
        prio,
        max_retries,
        None if timeout is None else float(timeout),
        float(delay),
        job_id,
    )


def new_job(
    name: str,
    args: tuple[Any, ...] | list[Any] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    priority: object = JobPriority.NORMAL,
    max_retries: int = 0,
    timeout: float | None = None,
    delay: float = 0.0,
    job_id: str | None = None,
) -> tuple[JobDefinition, float]:
    """A checked submission (`check_submission`) as a `JobDefinition`, and its delay in
    seconds: for callers that want the job itself (the submit path builds its record
    straight from the checked values)."""
    sub = check_submission(
        name,
        args,
        kwargs,
        priority=priority,
        max_retries=max_retries,
        timeout=timeout,
        delay=delay,
        job_id=job_id,
    )
    job = JobDefinition(
        id=sub.job_id,
        name=sub.name,
        args=tuple(sub.args),
        kwargs=dict(sub.kwargs),
        priority=sub.priority,
        status=JobStatus.SCHEDULED if sub.delay else JobStatus.PENDING,
        max_retries=sub.max_retries,
        timeout=sub.timeout,
    )
    return job, sub.delay


def check_job_name(name: object, field_name: str = "name") -> str:
    """A name a job can have (as `new_job` checks it): a handler registered under any other
    name could never run, and its name would make worker records unreadable."""
    if not isinstance(name, str):
        raise TypeError(f"{field_name}: expected str, got {type(name).__name__}")
    if not name.strip():
        raise ValueError(f"{field_name}: must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"{field_name}: at most {MAX_NAME_LENGTH} characters")
    _check_encodable(field_name, name)
    return name


def _check_encodable(field_name: str, text: str) -> None:
    """Refuse text that cannot be stored as UTF-8 (a lone surrogate, as a non-UTF-8 filename
    from `os.listdir` carries): it would fail deep in the encoder, far from the caller."""
    try:
        text.encode()
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{field_name}: not valid UTF-8 text (a lone surrogate {text[exc.start]!r} at "
            f"position {exc.start})"
        ) from None
