"""The backup service on jobdeck: handlers, a workflow, schedules and `backup.*` events.

    BACKUP_SOURCE=/srv/data BACKUP_DEST=/var/backups \\
        jobdeck worker examples.backup.jobs:service --url redis://localhost:6379/0

Every night (03:00 Europe/Berlin) a workflow runs: each source is backed up in parallel (a
group), then one job verifies every new archive (the group's `then`, which receives their
results), then old archives are pruned (`after` the verification, and only if it passed:
`on_parent_failure="cancel"`, so a failed backup never costs the old ones). Every worker
process also runs the scheduler: the nightly tick fires once however many workers run.
Handlers are plain functions where they do I/O: they run on the worker's threads and report
progress and events through `current_job()`.
"""

from __future__ import annotations

import os
from typing import Any

from jobdeck.core import JobService, JobSpec, current_job
from jobdeck.core.worker.context import HandlerService

from .archive import backup, prune, restore, verify

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


@service.handler("backup.verify")
def run_verify(backups: list[dict[str, Any]]) -> dict[str, Any]:
    """Every archive of the night checked against its manifest (the group's results, in
    order, come as the first argument); a corrupt one fails the job, and so the prune."""
    archives = [b["archive"] for b in backups]
    files = sum(len(verify(archive)["entries"]) for archive in archives)
    current_job().emit("backup.verified", {"archives": len(archives), "files": files})
    return {"archives": archives, "files": files}


@service.handler("backup.nightly")
async def run_nightly(sources: list[str], dest: str, keep: int = 7) -> dict[str, Any]:
    """The night's workflow, submitted from the job the schedule fires (`nightly`)."""
    ctx = current_job()
    assert ctx.service is not None
    return await nightly(ctx.service, sources, dest, keep)


async def nightly(
    service: HandlerService, sources: list[str], dest: str, keep: int = 7
) -> dict[str, Any]:
    """backup (each source, in parallel) -> verify (all of them) -> prune (if verified)."""
    group = await service.submit_group(
        [JobSpec("backup.run", [source, dest], max_retries=2) for source in sources],
        then=JobSpec("backup.verify"),
    )
    pruning = await service.submit_job(
        "backup.prune", [dest], {"keep": keep}, after=[group.then_id], on_parent_failure="cancel"
    )
    return {"backups": group.ids, "verify": group.then_id, "prune": pruning}


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
    "backup.nightly",
    cron="0 3 * * *",
    timezone="Europe/Berlin",
    args=[_SOURCE.split(os.pathsep), _DEST],
)
