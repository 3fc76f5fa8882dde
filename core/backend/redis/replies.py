"""What the Redis scripts send back, read into the contract's values: pure functions of a
reply, one per shape, so `RedisBackend` reads as "arguments, one script call, one reader"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...codec import loads
from ...events import event_key
from ..records import (
    ClaimBatch,
    ClaimedJob,
    DueSchedules,
    NewJob,
    ParentResult,
    RawHistory,
    RawLimits,
    RawMetrics,
    RawSchedule,
    Relatives,
    WorkerRecord,
)

__all__ = [
    "CLAIMED_FIELDS",
    "DEPTH_ORDER",
    "claim_batch",
    "due_schedules",
    "flow_spec",
    "limits",
    "memory_warning",
    "metrics",
    "pairs",
    "parent_results",
    "relatives",
    "rows",
    "schedules",
    "submitted",
    "text",
    "trimmed_through",
    "unknown_parent",
    "workers",
]

#: What claim.lua returns for each job it leases: the record's fields, by position.
CLAIMED_FIELDS = (
    "name", "args", "kwargs", "max_retries", "timeout", "priority", "created_at",
    "scheduled_for", "error", "stalls", "attempts", "meta", "feed",
)
#: The order of metrics.lua's depths.
DEPTH_ORDER = (
    "pending", "scheduled", "running", "completed", "failed", "cancelled", "waiting", "expired",
)


def text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def pairs(flat: Sequence[Any]) -> dict[str, Any]:
    """A flat [field, value, field, value, ...] reply (HGETALL's shape) as a dict."""
    return {text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}


def submitted(reply: Sequence[Any]) -> list[bool | str]:
    """submit.lua's reply per job: True (queued), False (the id existed) or the id of the
    job holding its unique key."""
    return [text(flag) if isinstance(flag, bytes) else bool(flag) for flag in reply]


def rows(flat: Sequence[Any]) -> list[tuple[str, Mapping[Any, Any]]]:
    """[id, [field, value, ...], id, ...] (list.lua, search.lua) as (id, fields) rows."""
    return [(text(flat[i]), pairs(flat[i + 1])) for i in range(0, len(flat), 2)]


def flow_spec(job: NewJob) -> str:
    """submit.lua's workflow argument: the expiry in ms (0: none), then the parents' ids."""
    return " ".join((str(job.expires_ms), *job.after))


def unknown_parent(reply: Sequence[Any], batch: int, queue: str) -> ValueError:
    """submit.lua's refusal {'!after', position, id}: nothing of the call was written."""
    where = f"job {int(reply[1]) - 1}: " if batch > 1 else ""
    return ValueError(
        f"{where}after: no job {text(reply[2])!r} on queue {queue!r} (a parent must be a job "
        "of the same queue that has not been deleted)"
    )


def parent_results(reply: Sequence[Any]) -> tuple[list[ParentResult], int]:
    """parents.lua's [next byte, id, status, result, ...]."""
    found = [
        ParentResult(text(reply[i]), text(reply[i + 1]), reply[i + 2])
        for i in range(1, len(reply), 3)
    ]
    return found, int(reply[0])


def relatives(reply: Sequence[Any]) -> Relatives:
    """family.lua's [parents total, [id, status, ...], children total, [id, status, ...]]."""
    np, parents, nc, children = reply

    def listed(flat: Sequence[Any]) -> list[tuple[str, str]]:
        return [(text(flat[i]), text(flat[i + 1])) for i in range(0, len(flat), 2)]

    return Relatives(listed(parents), int(np), listed(children), int(nc))


def claim_batch(reply: Sequence[Any]) -> ClaimBatch:
    """claim.lua's [paused, next due ms or -1, id, token, [fields by position], ...]."""
    next_due = None if int(reply[1]) < 0 else int(reply[1]) / 1000
    jobs = [
        ClaimedJob(text(reply[i]), text(reply[i + 1]), _claimed_fields(reply[i + 2]))
        for i in range(2, len(reply), 3)
    ]
    return ClaimBatch(jobs=jobs, paused=bool(reply[0]), next_due=next_due)


def _claimed_fields(values: Sequence[Any]) -> dict[str, Any]:
    fields = dict(zip(CLAIMED_FIELDS, values, strict=True))
    fields["status"] = b"running"
    return fields


def metrics(reply: Sequence[Any]) -> RawMetrics:
    now, depths, totals, buckets, paused, hist, through = reply[:7]
    throttled, parked, throttled_total, parked_total, names = reply[7:12]
    return RawMetrics(
        now=float(now),
        depths=dict(zip(DEPTH_ORDER, (int(d) for d in depths), strict=True)),
        totals={k: int(v) for k, v in pairs(totals).items()},
        buckets=[{k: int(v) for k, v in pairs(b).items()} for b in buckets],
        paused=bool(paused),
        histograms={k: int(v) for k, v in pairs(hist).items()},
        events_through=text(through),
        throttled={k: int(v) for k, v in pairs(throttled).items() if int(v) > 0},
        parked={k: int(float(v)) for k, v in pairs(parked).items() if float(v) > 0},
        throttled_total=int(throttled_total),
        parked_total=int(parked_total),
        names={k: int(v) for k, v in pairs(names).items()},
    )


def history(reply: Sequence[Any]) -> RawHistory:
    """history.lua's [now, step, first, [kind, key, fields], ...]: a field is the bucket's
    place in its key (a minute of the hour, an hour of the day)."""
    now, step, first = float(reply[0]), int(reply[1]), int(reply[2])
    per_key = 3600 // step if step == 60 else 24
    counts: dict[tuple[str, int], int] = {}
    for kind, key, fields in reply[3:]:
        for place, value in pairs(fields).items():
            counts[(text(kind), int(key) * per_key + int(place))] = int(value)
    last = int(now) // step
    return RawHistory(now, step, first, last - first + 1, counts)


def limits(reply: Sequence[Any]) -> RawLimits:
    """limits.lua's [limits, throttled, in use], each a flat hash reply."""
    defs, throttled, in_use = reply
    return RawLimits(
        limits={k: text(v) for k, v in pairs(defs).items()},
        throttled={k: int(v) for k, v in pairs(throttled).items() if int(v) > 0},
        in_use={k: int(v) for k, v in pairs(in_use).items() if int(v) > 0},
    )


def workers(flat: Sequence[Any]) -> list[WorkerRecord]:
    """workers.lua's [count, id, record JSON, heartbeat ms, ...]; a record that cannot be
    read is not a worker that can be shown, and is left out."""
    found = []
    for i in range(1, len(flat), 3):
        try:
            info = loads(flat[i + 1])
            info["last_heartbeat"] = float(flat[i + 2]) / 1000
            found.append(WorkerRecord(**info))
        except (TypeError, ValueError):
            continue
    return found


def due_schedules(reply: Sequence[Any]) -> DueSchedules:
    """sched_due.lua's [now ms, next due ms or -1, name, definition, due ms, ...]."""
    later = int(reply[1])
    due = [
        (text(reply[i]), bytes(reply[i + 1]), int(float(reply[i + 2])))
        for i in range(2, len(reply), 3)
    ]
    return DueSchedules(int(reply[0]), due, None if later < 0 else later)


def schedules(flat: Sequence[Any]) -> list[RawSchedule]:
    """sched_list.lua's [name, [field, value, ...], due ms or '', last job's status, ...]."""
    out = []
    for i in range(0, len(flat), 4):
        due, status = text(flat[i + 2]), text(flat[i + 3])
        out.append(
            RawSchedule(
                name=text(flat[i]),
                fields={k: text(v) for k, v in pairs(flat[i + 1]).items()},
                next_due_ms=int(float(due)) if due else None,
                last_status=status or None,
            )
        )
    return out


def memory_warning(info: str) -> str | None:
    """Said when Redis is near or at `maxmemory` (INFO memory): with noeviction it then
    refuses new jobs (and progress), with an eviction policy it drops keys, job records
    among them."""
    fields = dict(
        line.split(":", 1) for line in info.splitlines() if ":" in line and line[0] != "#"
    )
    try:
        used, limit = int(fields["used_memory"]), int(fields["maxmemory"])
    except (KeyError, ValueError):
        return None
    if limit <= 0 or used < limit * 0.9:
        return None
    share = f"{used / limit:.0%} of maxmemory ({used >> 20} MiB of {limit >> 20} MiB)"
    if fields.get("maxmemory_policy", "noeviction").strip() == "noeviction":
        return f"Redis memory is at {share}: when full it refuses new jobs."
    return f"Redis memory is at {share}: it is evicting keys, job records among them."


def trimmed_through(info: Mapping[Any, Any]) -> str:
    """The newest id the log's cap (or XDEL) may have dropped, from XINFO STREAM. Redis keeps
    the newest id XDEL removed, but a MAXLEN trim leaves that untouched: when entries were
    added that the stream no longer holds, every id before the oldest kept one may be gone."""
    deleted = text(info.get("max-deleted-entry-id") or "0-0")
    if int(info.get("entries-added") or 0) <= int(info.get("length") or 0):
        return deleted
    first = info.get("first-entry")
    if not first:  # everything ever added is gone
        return text(info.get("last-generated-id") or deleted)
    ms, seq = event_key(text(first[0]))
    before = f"{ms}-{seq - 1}" if seq else f"{ms - 1}-{2**64 - 1}"
    return max(deleted, before, key=event_key)
