"""`jobdeck job show|wait|cancel|retry|delete ID`, and the queue-wide `pause`, `resume` and
`purge STATUS`: one job, or one queue, from a shell.

Every command here reads or steers a queue shared through Redis, so each refuses to run
without a URL (`--url` or `JOBDECK_URL`): on the default `memory://` engine it would see an
empty queue of its own. Output meant for programs (`--json`, `job wait`'s result) is JSON on
stdout; everything for people goes to stderr or is made safe for a terminal first.
"""

from __future__ import annotations

import time
from typing import Any, NoReturn, TypeVar

import click

from ..backend.records import Relatives
from ..errors import JobCancelled, JobExpired, JobFailed, JobNotFound
from ..models import JobDefinition, JobStatus
from ..results import MAX_WAIT, check_wait
from ..service import JobService
from ..text import display_text
from ..workflows import relatives_dict
from .common import OneLineErrors, fail, on_queue, run_on, safe_json, shared_service, url_option

__all__ = ["WAIT_EXIT", "job", "pause", "purge", "resume", "safe_json"]

T = TypeVar("T")

#: `jobdeck job wait`'s exit status for each way a wait ends.
WAIT_EXIT = {
    "completed": 0,
    "failed": 1,
    "cancelled": 2,
    "expired": 2,  # a kind of cancel: the job will not run (JobExpired is a JobCancelled)
    "timeout": 3,
    "error": 4,
}


class _Outcome(SystemExit):
    """How a `job wait` ended, as its exit status (0-3)."""


class _JobCommands(OneLineErrors):
    """`job wait` keeps 1-3 for the job's outcome: any error of its own (a usage error, no
    such job, no server) exits 4."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        ctx.meta["jobdeck.job.command"] = name
        return name, command, rest

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except _Outcome:
            raise
        except SystemExit as exc:
            if exc.code and ctx.meta.get("jobdeck.job.command") == "wait":
                raise SystemExit(WAIT_EXIT["error"]) from None
            raise


@click.group(cls=_JobCommands)
def job() -> None:
    """Show, wait for, cancel, retry or delete one job."""


def _missing(service: JobService, job_id: str) -> NoReturn:
    fail(
        f"no job {job_id!r} on queue {service.queue!r} of {service.description} (never "
        "submitted to this queue, or its record expired or was deleted)",
        code=1,
    )


@job.command("show")
@click.argument("job_id", metavar="ID")
@url_option
@click.option("--json", "as_json", is_flag=True, help="The whole job as one JSON object.")
def show(job_id: str, url: str | None, queue: str, prefix: str, as_json: bool) -> None:
    """Print one job: status, attempts, times, progress, result or error."""

    async def read(service: JobService) -> tuple[JobDefinition, Relatives]:
        found = await service.get_job(job_id)
        if found is None:
            _missing(service, job_id)
        return found, await service.job_relatives(job_id, _LISTED)

    found, family = on_queue(url, queue, prefix, read)
    if as_json:
        click.echo(safe_json({**found.to_dict(), **relatives_dict(family)}))
        return
    for label, value in _rows(found) + _family_rows(found, family):
        lines = display_text(value, multiline=True, limit=20_000).splitlines() or [""]
        click.echo(f"{label:<12}{lines[0]}")
        for line in lines[1:]:
            click.echo(f"{'':<12}{line}")


def _rows(found: JobDefinition) -> list[tuple[str, str]]:
    rows = [
        ("id", found.id),
        ("name", found.name),
        ("status", found.status_text),
        ("priority", found.priority.name.lower()),
        ("attempts", f"{found.attempts} (max_retries {found.max_retries})"),
        ("args", safe_json(list(found.args))),
        ("kwargs", safe_json(found.kwargs)),
        ("created", _when(found.created_at)),
    ]
    if found.meta:
        rows.insert(7, ("meta", safe_json(found.meta)))
    if found.limit:
        held = "" if not found.throttled else " (throttled)"
        if found.throttled and found.throttled != found.limit:  # by a template: `user:*`
            held = f" (throttled by {found.throttled})"
        rows.append(("limit", found.limit + held))
    if found.group:
        rows.append(("group", found.group))
    for label, stamp in (
        ("due", found.scheduled_for),
        ("started", found.started_at),
        ("finished", found.finished_at),
    ):
        if stamp:
            rows.append((label, _when(stamp)))
    if found.worker:
        rows.append(("worker", found.worker))
    if found.progress.fraction or found.progress.message:
        rows.append(("progress", f"{found.progress.fraction:.0%} {found.progress.message}"))
    if found.status == JobStatus.COMPLETED:
        rows.append(("result", safe_json(found.result)))
    if found.result_ttl is not None:
        rows.append(("result_ttl", f"{found.result_ttl:g}s once completed"))
    if found.error is not None:
        rows.append(("error", f"{found.error.type}: {found.error.message}"))
        if found.error.traceback:
            rows.append(("traceback", found.error.traceback.rstrip()))
    rows += [(name, f"{size} bytes, not shown") for name, size in found.omitted.items()]
    return rows


_LISTED = 20  # parents and children `job show` lists (the rest are counted)


def _family_rows(found: JobDefinition, family: Relatives) -> list[tuple[str, str]]:
    """(workflows) What it waits for and what waits for it, each with its status."""
    rows: list[tuple[str, str]] = []
    if found.expires_at is not None:
        rows.append(("expires", _when(found.expires_at)))
    for label, listed, total in (
        ("parents", family.parents, family.parents_total),
        ("children", family.children, family.children_total),
    ):
        if not total:
            continue
        lines = [f"{jid} {status or 'gone'}" for jid, status in listed]
        if total > len(listed):
            lines.append(f"... {total - len(listed)} more ({total} in all)")
        rows.append((label, "\n".join(lines)))
    if found.status == JobStatus.WAITING:
        rows.append(("waiting", f"for {found.waiting_for} of {len(found.parents)} parents"))
    if found.parents and found.on_parent_failure != "fail":
        rows.append(("on failure", f"of a parent: {found.on_parent_failure}"))
    return rows


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(stamp))


@job.command("wait")
@click.argument("job_id", metavar="ID")
@url_option
@click.option(
    "--timeout",
    type=click.FloatRange(0, MAX_WAIT),
    default=None,
    help="Seconds to wait at most (default: until the job finishes).",
)
def wait(job_id: str, url: str | None, queue: str, prefix: str, timeout: float | None) -> None:
    """Wait for one job to finish and print its result as JSON.

    Exit status: 0 completed, 1 failed (the error on stderr), 2 cancelled or expired (never
    ran), 3 still not finished after --timeout, 4 anything else (no such job, bad input, no
    server), 130 interrupted (Ctrl-C)."""
    try:
        check_wait(job_id, timeout)
    except ValueError as exc:
        fail(str(exc))
    service = shared_service(url, queue, prefix)

    async def go(service: JobService) -> tuple[str, Any]:
        try:
            return "completed", await service.result(job_id, timeout)
        except JobFailed as exc:
            return "failed", exc
        except JobExpired as exc:
            return "expired", exc
        except JobCancelled as exc:
            return "cancelled", exc
        except TimeoutError as exc:
            return "timeout", exc

    try:
        outcome, value = run_on(service, go, (JobNotFound,))
    except KeyboardInterrupt:  # Ctrl-C: not an outcome of the job (1 would say "failed")
        click.echo(f"jobdeck: interrupted while waiting for job {job_id}", err=True)
        raise _Outcome(130) from None
    if outcome == "completed":
        click.echo(safe_json(value))
    else:
        click.echo(f"jobdeck: {display_text(str(value), limit=2000)}", err=True)
    raise _Outcome(WAIT_EXIT[outcome])


@job.command("cancel")
@click.argument("job_id", metavar="ID")
@url_option
def cancel(job_id: str, url: str | None, queue: str, prefix: str) -> None:
    """Cancel a pending or scheduled job, or a running one wherever it runs."""

    async def go(service: JobService) -> str:
        if await service.cancel_job(job_id):
            current = await service.get_job(job_id)
            if current is not None and current.status == JobStatus.RUNNING:
                return f"job {job_id}: cancel requested (it is running; its handler is stopped)"
            return f"job {job_id}: cancelled"
        current = await service.get_job(job_id)
        if current is None:
            _missing(service, job_id)
        fail(f"job {job_id} is {current.status.value}: only unfinished jobs cancel", code=1)

    click.echo(display_text(on_queue(url, queue, prefix, go)))


@job.command("retry")
@click.argument("job_id", metavar="ID")
@url_option
def retry(job_id: str, url: str | None, queue: str, prefix: str) -> None:
    """Send one dead letter (a failed job) back to the queue, its attempts reset."""

    async def go(service: JobService) -> None:
        if await service.retry_dead_letter(job_id):
            return
        current = await service.get_job(job_id)
        if current is None:
            _missing(service, job_id)
        fail(f"job {job_id} is {current.status.value}, not a dead letter", code=1)

    on_queue(url, queue, prefix, go)
    click.echo(display_text(f"job {job_id}: back in the queue"))


@job.command("delete")
@click.argument("job_id", metavar="ID")
@url_option
def delete(job_id: str, url: str | None, queue: str, prefix: str) -> None:
    """Delete one finished job (completed, a dead letter, or cancelled) with its result."""

    async def go(service: JobService) -> str:
        current = await service.get_job(job_id)
        if current is None:
            _missing(service, job_id)
        if await service.delete_job(job_id):
            return current.status.value
        current = await service.get_job(job_id)
        state = "gone" if current is None else current.status.value
        fail(f"job {job_id} is {state}: only finished jobs are deleted (cancel it first)", code=1)

    was = on_queue(url, queue, prefix, go)
    click.echo(display_text(f"job {job_id}: deleted (it was {was})"))


@click.command()
@url_option
def pause(url: str | None, queue: str, prefix: str) -> None:
    """Stop every worker taking new jobs from the queue (running jobs go on)."""
    on_queue(url, queue, prefix, lambda s: s.pause_queue())
    click.echo(display_text(f"queue {queue}: paused"))


@click.command()
@url_option
def resume(url: str | None, queue: str, prefix: str) -> None:
    """Let the workers take jobs from the queue again."""
    on_queue(url, queue, prefix, lambda s: s.resume_queue())
    click.echo(display_text(f"queue {queue}: resumed"))


_PURGEABLE = [s.value for s in JobStatus if s != JobStatus.RUNNING]


@click.command()
@click.argument("status", type=click.Choice(_PURGEABLE), metavar="STATUS")
@url_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask first.")
def purge(status: str, url: str | None, queue: str, prefix: str, yes: bool) -> None:
    """Delete every job in STATUS: pending, scheduled, waiting, completed, failed (the dead
    letters), cancelled or expired. Asks first unless --yes."""
    service = shared_service(url, queue, prefix)

    async def count(service: JobService) -> int:
        return int((await service.get_metrics(1)).depths.get(status, 0))

    if not yes:
        found = run_on(service, count)
        where = display_text(f"queue {queue!r} of {service.description}")
        if found == 0:
            click.echo(f"no {status} jobs on {where}")
            return
        click.confirm(f"Delete {_jobs(found, status)} from {where}?", abort=True, err=True)

    click.echo(f"purged {_jobs(run_on(service, lambda s: s.purge(status)), status)}")


def _jobs(count: int, status: str) -> str:
    return f"{count} {status} job{'' if count == 1 else 's'}"
