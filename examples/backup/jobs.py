"""The backup service on jobdeck: handlers, schedules and `backup.*` events.

    BACKUP_SOURCE=/srv/data BACKUP_DEST=/var/backups \\
        jobdeck worker examples.backup.jobs:service --url redis://localhost:6379/0

Every worker process also runs the scheduler: the nightly backup (03:00 Europe/Berlin) and
the hourly prune fire once per tick however many workers run. Handlers are plain functions:
they run on the worker's threads and report progress and events through `current_job()`.
"""

from __future__ import annotations

import os
from typing import Any

from jobdeck.core import JobService, current_job

from .archive import backup, prune, restore

service = JobService(queue="backups")


def _emit(event: str, data: dict[str, Any]) -> None:
    current_job().emit(event, data)


@service.handler("backup.run")
def run_backup(source: str, dest: str, throttle: float = 0.0) -> dict[str, Any]:
    """One archive of `source` in `dest`, named after the job: a retry of the same job
    replaces its own partial file and produces the same archive name."""
    ctx = current_job()
    name = "backup-" + ctx.job_id.replace(":", "_")
    result = backup(
        source, dest, name=name, progress=ctx.report_progress, emit=_emit, throttle=throttle
    )
    return {
        "archive": str(result.archive),
        "files": result.files,
        "bytes": result.bytes,
        "sha256": result.sha256,
        "skipped": result.skipped,
    }


@service.handler("backup.restore")
def run_restore(archive: str, target: str) -> dict[str, Any]:
    files = restore(archive, target)
    current_job().emit("backup.restored", {"archive": archive, "target": target, "files": files})
    return {"files": files}


@service.handler("backup.prune")
def run_prune(dest: str, keep: int = 7) -> dict[str, Any]:
    removed = prune(dest, keep)
    current_job().emit("backup.pruned", {"dest": dest, "removed": len(removed)})
    return {"removed": [p.name for p in removed]}


_SOURCE = os.environ.get("BACKUP_SOURCE", "/srv/data")
_DEST = os.environ.get("BACKUP_DEST", "/var/backups/jobdeck")
service.schedule(
    "nightly-backup",
    "backup.run",
    cron="0 3 * * *",
    timezone="Europe/Berlin",
    args=[_SOURCE, _DEST],
    max_retries=2,
)
service.schedule("hourly-prune", "backup.prune", cron="0 * * * *", args=[_DEST], kwargs={"keep": 7})
