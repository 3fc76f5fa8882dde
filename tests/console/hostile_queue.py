"""A queue full of hostile strings (tests/hostile.py) in every field of every kind of record,
for the console's pilot tests and for `python -m tests.console.hostile_app` in a real terminal.
"""

from __future__ import annotations

import time
from typing import Any

from jobdeck.core import JobService
from jobdeck.core.backend.base import Finish, Outcome, ProgressUpdate, WorkerRecord
from jobdeck.core.codec import dumps

from ..hostile import LONG, STORABLE

__all__ = ["populate"]

LEASE = 3600.0


async def _submit(service: JobService, name: str, fallback: str, **spec: Any) -> str:
    """Submit; a name the service refuses is replaced (the other fields still carry data)."""
    try:
        return (await service.submit_jobs([{"name": name, **spec}]))[0]
    except ValueError:
        return (await service.submit_jobs([{"name": fallback, **spec}]))[0]


async def _job_in_every_state(
    service: JobService, ids: dict[str, list[str]], key: str, text: str, *, big: Any = None
) -> None:
    """A running, a dead and a finished job whose every field carries `text`, and a worker
    whose id and host do."""
    backend = service.backend
    worker = f"w-{text}"[:120]
    spec = {"args": [text, big], "kwargs": {text[:100]: text}}
    job_id = await _submit(service, text[:200], f"refused-{key}", **spec)
    token = (await backend.claim(worker, 1, LEASE)).jobs[0].token
    await backend.progress([ProgressUpdate(job_id, token, 0.5, text)])
    ids["running"].append(job_id)

    job_id = await _submit(service, text[:200], f"refused-{key}", **spec)
    token = (await backend.claim(worker, 1, LEASE)).jobs[0].token
    error = {"type": text[:100], "message": text, "traceback": f"Traceback:\n  {text}\n{text}"}
    data = {"will_retry": False, "error_type": text, "error": text, "attempt": 1}
    failed = Finish(job_id, token, Outcome.FAILED, dumps(error), event_data=dumps(data))
    await backend.finish(worker, [failed])
    ids["dead"].append(job_id)

    job_id = await _submit(service, text[:200], f"refused-{key}", **spec)
    token = (await backend.claim(worker, 1, LEASE)).jobs[0].token
    done = Finish(job_id, token, Outcome.COMPLETED, dumps({text: [text, big]}), event_data=b"{}")
    await backend.finish(worker, [done])
    ids["history"].append(job_id)

    now = time.time()
    record = WorkerRecord(
        id=worker,
        host=text[:100],
        pid=1,
        queue=service.queue,
        concurrency=2,
        running=1,
        started_at=now,
        last_heartbeat=now,
    )
    await backend.heartbeat(record, [], LEASE)


async def populate(service: JobService) -> dict[str, list[str]]:
    """Per entry, one job in each state (the tables); first, one job in each state that
    carries the whole corpus in every field (the detail views)."""
    ids: dict[str, list[str]] = {"running": [], "dead": [], "history": [], "pending": []}
    everything = " ".join(STORABLE.values())
    await _job_in_every_state(service, ids, "all", everything, big=LONG)
    for key, text in STORABLE.items():
        await _job_in_every_state(service, ids, key, text)
    for key, text in STORABLE.items():
        spec = {"args": [text], "kwargs": {text: text}}
        ids["pending"].append(await _submit(service, text, f"refused-{key}", **spec))
    spec = {"args": [everything, LONG], "kwargs": {everything: everything}}
    ids["pending"].append(await _submit(service, everything[:200], "refused-all", **spec))
    # Schedules whose job name and arguments carry each entry (tab 6).
    for n, text in enumerate(STORABLE.values()):
        try:
            await service.add_schedule(f"hostile-{n}", text[:200], every=3600, args=[text])
        except (TypeError, ValueError):
            await service.add_schedule(f"hostile-{n}", "refused", every=3600, args=[text])
    return ids
