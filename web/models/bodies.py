"""Request bodies: one job, many, a chain, a group, an action on many, a worker's concurrency.
Validated strictly (unknown fields refused); what JSON Schema cannot state (two fields
compared) is in their descriptions and checked by the core."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, WithJsonSchema
from pydantic.config import JsonDict

from jobdeck.core.keeping import MAX_META_BYTES, MAX_RESULT_TTL
from jobdeck.core.models import MAX_DELAY, MAX_NAME_LENGTH, MAX_TIMEOUT
from jobdeck.core.workflows import MAX_PARENTS

from .fields import (
    FLOW_NAME,
    NOT_BLANK,
    SUBMITTABLE_ID,
    JobIdText,
    JsonArgs,
    JsonKwargs,
    Number,
    PriorityName,
    Strict,
    Whole,
)

__all__ = [
    "MAX_BATCH",
    "BatchIn",
    "BulkIn",
    "ChainIn",
    "GroupIn",
    "JobFields",
    "JobIn",
    "MemberIn",
    "ScaleIn",
    "ThenIn",
]

MAX_BATCH = 10_000


class JobFields(Strict):
    """What every job of a body has; `JobIn`, `MemberIn` and `ThenIn` add what they allow.
    The rules JSON Schema cannot state (they compare two fields) are in their descriptions."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NOT_BLANK)]
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
                    "pattern": SUBMITTABLE_ID,
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


class ChainIn(Strict):
    """Jobs that run one after the other: each once the one before it completed."""

    jobs: Annotated[list[MemberIn], Field(min_length=1, max_length=MAX_BATCH)]
    pass_results: bool = Field(
        False, description="each job gets the one before's result as its first argument"
    )


class GroupIn(Strict):
    """Jobs that run in parallel, and (with `then`) one job after all of them completed,
    which gets the list of their results, in order, as its first argument."""

    jobs: Annotated[list[MemberIn], Field(min_length=1, max_length=MAX_PARENTS)]
    then: ThenIn | None = None


class BatchIn(Strict):
    """Up to 10,000 jobs, validated all together before any is queued."""

    jobs: Annotated[list[JobIn], Field(min_length=1, max_length=MAX_BATCH)]


class BulkIn(Strict):
    """One action on many jobs."""

    action: Literal["cancel", "retry", "delete", "run_now"]
    ids: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]],
        Field(min_length=1, max_length=1000),
    ]


class ScaleIn(Strict):
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
