"""The API's contract: request bodies (validated strictly, unknown fields refused) and reply
shapes (documented in the OpenAPI document; replies are built by `serialize`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.config import JsonDict

from jobdeck.core.ids import RESERVED_IDS, SCHEDULER_ID_PREFIX
from jobdeck.core.keeping import MAX_META_BYTES, MAX_RESULT_TTL
from jobdeck.core.models import MAX_DELAY, MAX_NAME_LENGTH, MAX_TIMEOUT, JobStatus
from jobdeck.core.workflows import MAX_PARENTS

__all__ = [
    "MAX_BATCH",
    "BatchIn",
    "BatchOut",
    "BulkIn",
    "BulkOut",
    "ChainIn",
    "CountOut",
    "EventOut",
    "GroupIn",
    "GroupOut",
    "JobEventsOut",
    "JobFields",
    "JobIn",
    "JobOut",
    "JobPage",
    "MemberIn",
    "MetricsOut",
    "ScaleIn",
    "ScaleOut",
    "SearchOut",
    "StatusName",
    "SubmittedOut",
    "ThenIn",
    "VocabularyOut",
    "WorkerOut",
    "WorkersOut",
]

MAX_BATCH = 10_000

# What a job's args and kwargs may hold: any JSON, with integers in 64 bits (the codec's
# range). Added to the OpenAPI document's components by `create_app`.
JSON_VALUE_REF = {"$ref": "#/components/schemas/JsonValue"}
JSON_VALUE: dict[str, Any] = {
    "description": "Any JSON value; integers within -2**63 .. 2**64-1",
    "anyOf": [
        {"type": "string"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "integer", "minimum": -(2**63), "maximum": 2**64 - 1},
        {"type": "number", "not": {"type": "integer"}},
        {"type": "array", "items": JSON_VALUE_REF},
        {"type": "object", "additionalProperties": JSON_VALUE_REF},
    ],
}
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def _in_range(value: Any) -> Any:
    """JSON does not tell 1e20 from 100000000000000000000: both are the integer out of
    range, so both are refused (the codec cannot store the second)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and item.is_integer() and not _INT_MIN <= item <= _INT_MAX:
            raise ValueError(f"{item!r} is an integer outside -2**63 .. 2**64-1")
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return value


JsonArgs = Annotated[
    list[Any],
    AfterValidator(_in_range),
    WithJsonSchema({"type": "array", "items": JSON_VALUE_REF}),
]
JsonKwargs = Annotated[
    dict[str, Any],
    AfterValidator(_in_range),
    WithJsonSchema({"type": "object", "additionalProperties": JSON_VALUE_REF}),
]


def _whole(value: Any) -> Any:
    """JSON has one number type: 3.0 is the integer 3 (JSON Schema agrees); 3.5 is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def Whole(low: int, high: int) -> Any:
    schema = {"type": "integer", "minimum": low, "maximum": high}
    return Annotated[int, BeforeValidator(_whole), Field(ge=low, le=high), WithJsonSchema(schema)]


PriorityName = Literal["low", "normal", "high", "critical"]
# Every status the core has, from the core: a status a lane adds is documented at once.
if TYPE_CHECKING:  # a Literal built at run time; the checker sees the str it is
    StatusName = str
else:
    StatusName = Literal[tuple(status.value for status in JobStatus)]
Number = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# "Not blank" exactly as the core decides it (`str.strip`): a character outside Python's
# whitespace, spelled out because `\S` means other sets in JSON Schema's regex dialect
# (ECMA-262: U+0085 is not a space, U+FEFF is) and in the server's (U+0085 is).
_NOT_BLANK = r"[^\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NOT_BLANK = _NOT_BLANK  # for query parameters, as for bodies


STREAM_ID_PATTERN = r"^\d{1,20}-\d{1,20}$"
_U64 = 2**64 - 1


def _stream_id(value: str) -> str:
    """An event id Redis accepts: both parts within 64 bits (the pattern alone lets
    99999999999999999999-0 through, which Redis refuses on every read: a false outage)."""
    millis, _, seq = value.partition("-")
    if int(millis) > _U64 or int(seq) > _U64:
        raise ValueError("not an event id: each part is at most 18446744073709551615")
    return value


#: An event id from a client (`Last-Event-ID`, `after=`): digits-digits, each within 64 bits.
StreamId = Annotated[str, AfterValidator(_stream_id)]


def _any_case(word: str) -> str:
    return "".join(
        f"[{c.lower()}{c.upper()}]" if c.isalpha() else "\\." if c == "." else c for c in word
    )


# The ids the core accepts for a new job, in JSON Schema's regex dialect (the server checks
# them in the core: `new_job`); lookaheads, since a word is refused in any case.
_SUBMITTABLE_ID = (
    f"^(?!{SCHEDULER_ID_PREFIX})(?!(?:{'|'.join(map(_any_case, sorted(RESERVED_IDS)))})$)"
    "[A-Za-z0-9_.:-]{1,128}$"
)


#: A job id as reads take it (a parent in `after`).
JobIdText = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]

#: A job's limit key or group (core.limits.check_flow_name).
FLOW_NAME = r"^[A-Za-z0-9_.:@+-]{1,128}$"


class JobFields(_Strict):
    """What every job of a body has; `JobIn`, `MemberIn` and `ThenIn` add what they allow.
    The rules JSON Schema cannot state (they compare two fields) are in their descriptions."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=_NOT_BLANK)]
    args: JsonArgs = Field(default_factory=list)
    kwargs: JsonKwargs = Field(default_factory=dict)
    priority: Whole(0, 3) | PriorityName = "normal"  # type: ignore[valid-type]
    max_retries: Whole(0, 1_000_000) = 0  # type: ignore[valid-type]
    timeout: Annotated[Number, Field(gt=0, le=MAX_TIMEOUT)] | None = None
    delay: Annotated[Number, Field(ge=0, le=MAX_DELAY)] = 0.0
    job_id: (
        Annotated[
            str,
            Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$"),
            WithJsonSchema(
                {
                    "type": "string",
                    "pattern": _SUBMITTABLE_ID,
                    "description": "not a word of the API's paths in any case "
                    "(`reserved_ids` of /vocabulary), not starting with `sched:`",
                }
            ),
        ]
        | None
    ) = None
    limit: Annotated[str, Field(pattern=FLOW_NAME)] | None = Field(
        None, description="the limit key it runs under (see /limits)"
    )
    group: Annotated[str, Field(pattern=FLOW_NAME)] | None = Field(
        None, description="its group: within a priority, groups take turns (fairness)"
    )
    result_ttl: Annotated[Number, Field(gt=0, le=MAX_RESULT_TTL)] | None = Field(
        None, description="seconds its record and result are kept once it completed "
        "(default: the queue's setting)"
    )  # fmt: skip
    meta: JsonKwargs | None = Field(
        None, description=f"a JSON object of at most {MAX_META_BYTES} bytes, kept and shown "
        "with the job and found by search"
    )  # fmt: skip
    expires: Annotated[Number, Field(gt=0, le=MAX_DELAY)] | None = Field(
        None, description="seconds from now: if it has not started by then it ends `expired`, "
        "never run (after its `delay`, or it could never start)"
    )  # fmt: skip


# `on_parent_failure` other than "fail" only with `after` (a job with parents).
_PARENT_FAILURE_NEEDS_AFTER: JsonDict = {
    "anyOf": [
        {"properties": {"on_parent_failure": {"const": "fail"}}},
        {"required": ["after"], "properties": {"after": {"type": "array"}}},
    ]
}


class JobIn(JobFields):
    """One job to queue. With `job_id`, submitting the same id twice queues it once.
    `expires` must come after `delay`; `after` must not name the job's own `job_id` nor, in a
    batch, a job listed after it."""

    model_config = ConfigDict(json_schema_extra=_PARENT_FAILURE_NEEDS_AFTER)

    after: Annotated[list[JobIdText], Field(min_length=1, max_length=MAX_PARENTS)] | None = (
        Field(None, description="ids of jobs of this queue it waits for: it runs once they "
              "all completed (status `waiting` until then); distinct, not its own `job_id`")
    )  # fmt: skip
    on_parent_failure: Literal["fail", "run", "cancel"] = Field(
        "fail", description="only with `after`: when a parent fails (a dead letter), `fail` "
        "makes it a dead letter too, `cancel` cancels it, `run` runs it anyway once every "
        "parent ended; a parent cancelled or expired cancels it unless `run`"
    )  # fmt: skip


class MemberIn(JobFields):
    """A job of a chain or a group: the chain or group says what it waits for. `expires`
    must come after `delay`."""


class ThenIn(JobFields):
    """A group's `then`: it runs after the group's jobs (its parents). `expires` must come
    after `delay`."""

    on_parent_failure: Literal["fail", "run", "cancel"] = Field(
        "fail", description="when one of the group's jobs fails (a dead letter), `fail` makes "
        "it a dead letter too, `cancel` cancels it, `run` runs it anyway once every job of the "
        "group ended; one cancelled or expired cancels it unless `run`"
    )  # fmt: skip


class ChainIn(_Strict):
    """Jobs that run one after the other: each once the one before it completed."""

    jobs: Annotated[list[MemberIn], Field(min_length=1, max_length=MAX_BATCH)]
    pass_results: bool = Field(
        False, description="each job gets the one before's result as its first argument"
    )


class GroupIn(_Strict):
    """Jobs that run in parallel, and (with `then`) one job after all of them completed,
    which gets the list of their results, in order, as its first argument."""

    jobs: Annotated[list[MemberIn], Field(min_length=1, max_length=MAX_PARENTS)]
    then: ThenIn | None = None


class GroupOut(BaseModel):
    ids: list[str]
    then_id: str | None


class BatchIn(_Strict):
    """Up to 10,000 jobs, validated all together before any is queued."""

    jobs: Annotated[list[JobIn], Field(min_length=1, max_length=MAX_BATCH)]


class ScaleIn(_Strict):
    """Set (`concurrency`) or change (`delta`) the concurrency of one worker or of all (`*`):
    exactly one of the two."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={"oneOf": [{"required": ["concurrency"]}, {"required": ["delta"]}]},
    )

    # Not nullable: absent means "not this one" (the default is never validated).
    concurrency: Whole(0, 10_000) = None  # type: ignore[valid-type]
    delta: Whole(-10_000, 10_000) = None  # type: ignore[valid-type]
    worker_id: Annotated[str, Field(min_length=1, max_length=200)] = "*"


class SubmittedOut(BaseModel):
    id: str


class BatchOut(BaseModel):
    ids: list[str]
    count: int


class ProgressOut(BaseModel):
    fraction: float
    message: str


class ErrorOut(BaseModel):
    type: str
    message: str
    traceback: str | None = None


class RelativeOut(BaseModel):
    id: str
    status: StatusName | None = Field(description="null: its record is gone")


class TimelineStep(BaseModel):
    at: float
    what: str


class JobOut(BaseModel):
    id: str
    name: str
    status: StatusName
    priority: PriorityName
    args: list[Any]
    kwargs: dict[str, Any]
    attempts: int
    max_retries: int
    timeout: float | None
    created_at: float
    scheduled_for: float | None
    started_at: float | None
    finished_at: float | None
    wait_time: float | None
    run_time: float | None
    progress: ProgressOut
    result: Any = None
    error: ErrorOut | None
    worker: str | None
    stalls: int
    cancel_requested: bool
    timeline: list[TimelineStep]
    omitted: dict[str, int] = Field(
        default_factory=dict,
        description="values a list left on the server (over 8 KiB): field name -> size in "
        "bytes; the field itself is empty. GET /jobs/{id} sends them.",
    )
    limit: str | None = Field(None, description="the limit key it runs under")
    group: str | None = Field(None, description="the group it takes turns with")
    throttled: str | None = Field(
        None, description="while pending and held by a limit: that limit (a key or template)"
    )
    meta: dict[str, Any] = Field(
        default_factory=dict, description="the JSON object submitted with the job as `meta`"
    )
    result_ttl: float | None = Field(
        None, description="seconds it is kept once completed, when submitted with its own"
    )
    parents: list[str] = Field(
        default_factory=list, description="the jobs it runs after (`after`), in order"
    )
    waiting_for: int = Field(0, description="while `waiting`: parents not yet completed")
    on_parent_failure: Literal["fail", "run", "cancel"] = "fail"
    expires_at: float | None = Field(
        None, description="when it expires if it has not started by then (Unix seconds)"
    )
    parent_statuses: list[RelativeOut] | None = Field(
        None, description="GET /jobs/{id} only: its first 50 parents with their statuses"
    )
    parents_total: int | None = None
    children: list[RelativeOut] | None = Field(
        None, description="GET /jobs/{id} only: its first 50 children (jobs submitted after "
        "it) with their statuses",
    )
    children_total: int | None = None


class JobPage(BaseModel):
    jobs: list[JobOut]
    status: str
    total: int = Field(description="jobs in this status (matching `name`, if given)")
    total_exact: bool = Field(description="false when a `name` filter stopped scanning early")
    limit: int
    offset: int


class CountOut(BaseModel):
    count: int


class ScaleOut(BaseModel):
    told: int = Field(description="how many worker processes were told")


class LoopBlockedOut(BaseModel):
    job_id: str | None
    job_name: str | None
    seconds: float
    at: float


class WorkerOut(BaseModel):
    id: str
    host: str
    pid: int
    queue: str
    concurrency: int
    running: int
    started_at: float
    last_heartbeat: float
    paused: bool
    processed: int
    failed: int
    handlers: list[str] = Field(
        default_factory=list, description="job names it has handlers for (sorted, at most 100)"
    )
    handler_count: int = Field(0, description="how many handlers it has in all")
    loop_blocked: LoopBlockedOut | None = Field(
        description="the last time a handler blocked this worker's event loop"
    )


class WorkersOut(BaseModel):
    workers: list[WorkerOut]
    omitted: int = Field(
        0, description="workers left out (the `workers` summary of /events sends at most 1000)"
    )


class QueuesOut(BaseModel):
    queues: list[str]
    current: str


class RatesOut(BaseModel):
    submitted: float = Field(description="jobs per second over the last minute")
    completed: float
    failed: float = Field(description="failed attempts per second (retried or dead-lettered)")


class QueueSummaryOut(BaseModel):
    name: str
    depths: dict[str, int] = Field(description="jobs per status, as in /jobs/metrics")
    paused: bool
    throttled: int = Field(description="pending jobs held by a limit (in depths.pending)")
    unserved: int = Field(description="pending jobs no live worker can run (in depths.pending)")
    rates: RatesOut
    workers: int = Field(description="live worker processes on this queue")
    worker_ids: list[str] = Field(
        description="their ids (a worker serving several queues is in each)"
    )
    concurrency: int = Field(description="how many jobs they may run at once, in all")
    running: int = Field(description="how many they run now")


class QueuesOverviewOut(BaseModel):
    queues: list[QueueSummaryOut]
    current: str = Field(description="the queue served under /api/v1")
    omitted: int = Field(description="queues past the server's open-queue limit, not shown")


class HeldOut(BaseModel):
    """Pending jobs waiting aside, by what they wait for."""

    throttled: dict[str, int] = Field(
        default_factory=dict, description="by the limit holding them (templates as one)"
    )
    unserved: dict[str, int] = Field(
        default_factory=dict,
        description="by job name, the 100 names with the most (the rest under 'other')",
    )


class NameCountsOut(BaseModel):
    completed: int
    failed: int = Field(description="failed attempts: retried or dead-lettered")


class MetricsOut(BaseModel):
    timestamp: float
    window: int
    depths: dict[str, int]
    totals: dict[str, int]
    completed_per_second: list[int]
    failed_per_second: list[int]
    submitted_per_second: list[int]
    throughput: float
    throughput_10s: float
    avg_wait: float | None
    avg_run: float | None
    paused: bool
    throttled: int = Field(0, description="pending jobs held by a limit (in depths.pending)")
    unserved: int = Field(
        0,
        description="pending jobs a worker claimed and had no handler for, while no live "
        "worker on the queue has one (in depths.pending)",
    )
    held: HeldOut = Field(default_factory=lambda: HeldOut())
    by_name: dict[str, NameCountsOut] = Field(
        description="since the queue began, per job name (at most ~200 names; the rest "
        "under `other`)"
    )


class PausedOut(BaseModel):
    paused: bool


class VocabularyOut(BaseModel):
    statuses: list[str] = Field(description="every job status, in the order a job meets them")
    finished: list[str] = Field(description="the statuses a job ends in")
    priorities: list[str] = Field(description="priority names, lowest first")
    event_types: list[str] = Field(description="every event type `/events` sends")
    reserved_ids: list[str] = Field(
        description="words no job id or schedule name may be, in any case (words of the "
        "API's paths)"
    )
    scheduler_id_prefix: str = Field(description="ids only the scheduler gives its jobs")


class EventData(BaseModel):
    """What an event's `data` holds, by type (all optional; an application's own events, from
    `current_job().emit`, carry whatever their handler gave)."""

    model_config = ConfigDict(extra="allow")
    priority: int | None = Field(None, description="JOB_SUBMITTED: the job's priority, 0-3")
    delay: float | None = Field(None, description="JOB_SUBMITTED: seconds before it is due")
    worker: str | None = Field(None, description="JOB_STARTED (and a stall's JOB_REQUEUED)")
    attempt: int | None = Field(None, description="JOB_STARTED, JOB_FAILED: from 1")
    runtime: float | None = Field(None, description="JOB_COMPLETED, JOB_FAILED: seconds")
    will_retry: bool | None = Field(None, description="JOB_FAILED: false for a dead letter")
    retry_in: float | None = Field(None, description="JOB_FAILED: seconds to the next attempt")
    error_type: str | None = Field(None, description="JOB_FAILED: the exception's type")
    error: str | None = Field(None, description="JOB_FAILED: its message (500 characters)")
    reason: str | None = Field(
        None, description="JOB_REQUEUED: retry, stalled, released, run_now; JOB_FAILED: stalled"
    )
    was: str | None = Field(None, description="JOB_CANCELLED: the status it had")
    schedule: str | None = Field(None, description="SCHEDULE_*: the schedule's name")
    manual: bool | None = Field(None, description="SCHEDULE_FIRED: triggered by hand")
    fraction: float | None = Field(None, description="JOB_PROGRESS: 0-1")
    message: str | None = Field(None, description="JOB_PROGRESS: the handler's words")


class EventOut(BaseModel):
    """The `data:` of one event on `/events` (its `event:` line is the type)."""

    id: str | None
    type: str
    timestamp: float
    job_id: str | None
    name: str | None
    status: str | None
    data: EventData


class JobEventsOut(BaseModel):
    events: list[EventOut] = Field(description="the job's events, oldest first")
    next: str | None = Field(description="pass as `after` to resume; null: the story is complete")
    more: bool = Field(description="the budget ran out before the log's end: call again now")
    trimmed: bool = Field(description="the log's cap dropped some of the job's lifetime")
    scanned: int = Field(description="log entries read by this call")


class SearchOut(BaseModel):
    jobs: list[JobOut] = Field(description="matches found by this step, in list order")
    cursor: str | None = Field(description="pass back for the next step; null: all was read")
    scanned: int = Field(description="records read by this step")


class BulkIn(_Strict):
    """One action on many jobs."""

    action: Literal["cancel", "retry", "delete", "run_now"]
    ids: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]],
        Field(min_length=1, max_length=1000),
    ]


class BulkOut(BaseModel):
    action: str
    count: int = Field(description="how many jobs the action was applied to")
    done: list[str] = Field(description="their ids")
    skipped: list[str] = Field(description="ids it did not fit (unknown, or in another state)")


class HistoryOut(BaseModel):
    step: int = Field(description="seconds per bucket: 60 (minutes) or 3600 (hours)")
    start: float = Field(description="unix time the first bucket begins")
    submitted: list[int] = Field(description="per bucket, oldest first; the last is filling")
    completed: list[int]
    failed: list[int] = Field(description="failed attempts: retried or dead-lettered")
