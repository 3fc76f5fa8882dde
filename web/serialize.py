"""Core objects as the API's JSON, and the JSON response class every route returns.

Replies are built as plain dicts and encoded with orjson (the core's codec): the response
models in `models` document the shapes without paying for validation on every reply.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse

from jobdeck.core import JobDefinition, QueueMetrics

__all__ = ["LIST_FIELD_BYTES", "FastJSON", "job_dict", "metrics_dict", "timeline"]

#: What a list reads of each job's args, kwargs, result, error and progress: a value larger
#: than this is left on the server and named in the job's `omitted` with its size (a page of
#: 50 jobs with 50 MB arguments was hundreds of MB). GET /jobs/{id} returns the whole job.
LIST_FIELD_BYTES = 8 * 1024


class FastJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS, default=str)


def timeline(job: JobDefinition) -> list[dict[str, Any]]:
    """What the record's own timestamps say happened, oldest first."""
    steps = [(job.created_at, "submitted")]
    if job.scheduled_for:
        steps.append((job.scheduled_for, "due"))
    if job.started_at:
        steps.append((job.started_at, f"started (attempt {job.attempts})"))
    if job.finished_at:
        steps.append((job.finished_at, job.status.value))
    return [{"at": at, "what": what} for at, what in sorted(steps, key=lambda s: s[0])]


def job_dict(job: JobDefinition) -> dict[str, Any]:
    """The job as `jobdeck job show --json` has it (one definition: the two had drifted, the
    CLI's without `limit`, `group` and `throttled`), and its timeline."""
    return {**job.to_dict(), "timeline": timeline(job)}


def metrics_dict(metrics: QueueMetrics) -> dict[str, Any]:
    return {
        "timestamp": metrics.timestamp,
        "window": metrics.window,
        "depths": metrics.depths,
        "totals": metrics.totals,
        "completed_per_second": metrics.completed_per_second,
        "failed_per_second": metrics.failed_per_second,
        "submitted_per_second": metrics.submitted_per_second,
        "throughput": metrics.throughput,
        "throughput_10s": metrics.throughput_10s,
        "avg_wait": metrics.avg_wait,
        "avg_run": metrics.avg_run,
        "paused": metrics.paused,
        "throttled": metrics.throttled,
        "unserved": metrics.unserved,
        "held": metrics.held,
        "by_name": metrics.by_name,
    }
