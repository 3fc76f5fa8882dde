"""Job ids: how a new one is made, which characters any id may have, and which ids a client
may not give (the words of the API's paths, the scheduler's namespace).

No imports from the rest of jobdeck: models, the schedules and the surfaces all ask here.
"""

from __future__ import annotations

import os

__all__ = [
    "RESERVED_IDS",
    "SCHEDULER_ID_PREFIX",
    "new_id",
    "refuse_reserved",
    "submittable_id",
    "valid_id",
]

# One of 32 characters per random byte (256 is a multiple of 32, so each is equally likely):
# `bytes.translate` does in C what base32 encoding does in Python, several times faster.
_ID_ALPHABET = bytes(b"abcdefghijklmnopqrstuvwxyz234567"[b & 31] for b in range(256))
_ID_LENGTH = 20
_IDS_PER_DRAW = 64
# Ids drawn ahead, 64 per urandom call (a bulk submit makes one per job). Emptied in a forked
# child: parent and child must never hand out the same ids.
_drawn: list[str] = []
os.register_at_fork(after_in_child=_drawn.clear)


def new_id() -> str:
    """A new job id: 20 random characters of `a-z2-7` (100 random bits, unguessable and, for
    any realistic number of jobs, never repeated). Short because an id is stored three times
    per job (the record's key, the queue's index, its events): a UUID's 36 characters cost
    ~45 bytes more per pending job. Lower case without 0/1/8/9, so it reads aloud and types
    easily at a console."""
    try:
        return _drawn.pop()
    except IndexError:  # empty (list.pop is atomic, so threads never share an id)
        text = os.urandom(_ID_LENGTH * _IDS_PER_DRAW).translate(_ID_ALPHABET).decode()
        fresh = [text[i : i + _ID_LENGTH] for i in range(0, len(text), _ID_LENGTH)]
        job_id = fresh.pop()
        _drawn.extend(fresh)
        return job_id


_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


def valid_id(job_id: str) -> bool:
    """The characters and length of an id (what a read accepts)."""
    return 0 < len(job_id) <= 128 and all(c in _ID_CHARS for c in job_id)


def submittable_id(job_id: str) -> bool:
    """An id a client may give a new job: valid, not a path word, not the scheduler's."""
    return (
        valid_id(job_id)
        and job_id.lower() not in RESERVED_IDS
        and not job_id.startswith(SCHEDULER_ID_PREFIX)
    )


#: The ids of the jobs the scheduler queues (`sched:<schedule>:<tick in ms>`, and
#: `sched:<schedule>:manual-<µs>` for a trigger): a tick is queued once because its id is
#: the same in every scheduler process, so a client may not take one first.
SCHEDULER_ID_PREFIX = "sched:"

#: Words a job id or a schedule name may not be (in any case): every literal segment of the
#: paths of jobdeck's HTTP API and dashboard, and the dot segments. An id stands in a path
#: beside these words (`/jobs/{id}`, `/jobs/dead-letters/{id}`, `/schedules/{name}/pause`),
#: so an id equal to one would reach another route (a dead letter named `retry-all`,
#: retried by id, retried them all) or could never be read; `.` and `..` are resolved away
#: by every URL parser. tests/web checks that every route's words are here.
RESERVED_IDS = frozenset(
    {
        ".",
        "..",
        "api",
        "v1",
        "jobs",
        "batch",
        "dead-letters",
        "retry-all",
        "metrics",
        "workers",
        "scale",
        "queue",
        "queues",
        "pause",
        "resume",
        "trigger",
        "schedules",
        "events",
        "session",
        "vocabulary",
        "healthz",
        "readyz",
        "docs",
        "redoc",
        "assets",
        "openapi.json",
        "run-now",
        "overview",
        # words the API's next routes are likely to take; reserved before any id holds them
        "search",
        "history",
        "bulk",
        "result",
        "results",
        "retry",
        "cancel",
        "delete",
        "limits",
        "groups",
        "chains",
    }
)


def refuse_reserved(field_name: str, value: str) -> None:
    """`ValueError` naming the field if `value` is one of `RESERVED_IDS`."""
    if value.lower() in RESERVED_IDS:
        raise ValueError(
            f"{field_name}: {value!r} is a word of the HTTP API's paths and cannot be an id "
            "(it would reach another route); choose another"
        )
