"""The core's own commands: run a worker process, submit a job, print queue figures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from typing import Any

import click

from ..acl import ROLES, acl_rules
from ..backend.records import WorkerRecord
from ..codec import loads
from ..keys import validate_name
from ..lifespan import LifespanError
from ..metrics import QueueMetrics
from ..models import JobPriority, JobStatus
from ..service import JobService
from ..text import display_text
from ..worker.pool import WorkerSettings
from .common import (
    URL_HELP,
    fail,
    load_service,
    make_service,
    run_async,
    shared_service,
    url_option,
)
from .jobs import job, pause, purge, resume, safe_json
from .limits import limits
from .schedules import schedules

log = logging.getLogger("jobdeck")


def register(main: click.Group) -> None:
    """Add the core's commands to the `jobdeck` group."""
    for command in (
        worker, submit, stats, queues, acl, schedules, limits, job, pause, resume, purge,
    ):  # fmt: skip
        main.add_command(command)


@click.command()
@click.argument("app")
@click.option("--url", "-u", envvar="JOBDECK_URL", default=None, help=URL_HELP)
@click.option(
    "--queue",
    "-q",
    "queues",
    multiple=True,
    metavar="NAME[=WEIGHT]",
    help="A queue to serve (default: the queue of APP's service). Repeat it to serve "
    "several: each queue gets a share of --concurrency by its weight (default 1), at least "
    "one slot.",
)
@click.option("--prefix", default=None, help="Key prefix (default: that of APP's service).")
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(0, 10_000),
    default=None,
    help="Jobs run at once, over all its queues (default: CPU count).",
)
@click.option(
    "--lease",
    type=click.FloatRange(1.0, 3600.0),
    default=30.0,
    show_default=True,
    help="Seconds a job stays leased without a heartbeat before another worker may take it.",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0.0),
    default=30.0,
    show_default=True,
    help="On SIGTERM, seconds to let running jobs finish before handing them back.",
)
@click.option("--worker-id", default=None, help="A stable id for this worker process.")
def worker(
    app: str,
    url: str | None,
    queues: tuple[str, ...],
    prefix: str | None,
    concurrency: int | None,
    lease: float,
    shutdown_timeout: float,
    worker_id: str | None,
) -> None:
    """Run a worker process for APP (module:attr naming a JobService with handlers)."""
    base = load_service(app)
    try:
        weights = parse_queues(queues or (base.queue,))
    except ValueError as exc:
        fail(str(exc))
    settings = WorkerSettings(
        lease=lease, heartbeat_interval=min(5.0, lease / 3), shutdown_timeout=shutdown_timeout
    )
    # The application's own service runs here (on the server and prefix given), so its
    # handlers' follow-up jobs land where the workers are; other queues get siblings.
    try:
        base.configure(url, prefix)
    except ValueError as exc:
        fail(str(exc))
    services = [base if queue == base.queue else base.for_queue(queue) for queue in weights]
    for service in services:
        service.worker_settings = settings
    if not base.handlers:
        log.warning("%s has no handlers registered: every job will be dead-lettered", app)
    total = (os.cpu_count() or 1) if concurrency is None else concurrency
    slots = split_slots(total, list(weights.values()))
    run_async(lambda: _run_worker(services, slots, worker_id, base), services[0].description)


async def _run_worker(
    services: list[JobService], slots: list[int], worker_id: str | None, base: JobService
) -> None:
    for service in services:
        await service.initialize()
    if base not in services:
        await _write_elsewhere(base, [service.queue for service in services])
    for warning in await services[0].backend.server_warnings():
        log.warning("%s", warning)
    # Signals are ours before the first job can start: a SIGTERM that lands while the
    # pools start stops them gracefully instead of killing the process mid-job.
    stop = asyncio.Event()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            log.info("stopping: finishing running jobs (signal again to stop at once)")
            stop.set()
        else:
            log.warning("stopping at once: running jobs are handed back")
            asyncio.get_running_loop().create_task(_hard_stop(services))

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    # One pool per queue, under one worker id: its keys are per queue, so the id is unique
    # on each, and `scale_workers(worker_id=...)` from a queue's console scales that share.
    worker_id = worker_id or _new_worker_id()
    try:
        for service, count in zip(services, slots, strict=True):
            await service.start_workers(count, worker_id=worker_id)
    except LifespanError as exc:  # nothing ran: stop what started, and say why
        await asyncio.gather(*(service.close() for service in services))
        fail(f"worker not started: {exc}", code=1)
    log.info(
        "worker %s on %s, queues %s, handlers: %s",
        worker_id,
        services[0].description,
        ", ".join(f"{s.queue} ({n} slots)" for s, n in zip(services, slots, strict=True)),
        ", ".join(sorted(services[0].handlers)) or "none",
    )
    # A pool whose loop kept crashing has stopped itself: stop the others and say why.
    failures = [
        asyncio.create_task(service.pool.wait_failed())
        for service in services
        if service.pool is not None
    ]
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([stopped, *failures], return_when=asyncio.FIRST_COMPLETED)
    failure = next((task.result() for task in failures if task.done()), None)
    for task in (stopped, *failures):
        task.cancel()
    await asyncio.gather(*(service.stop_workers(graceful=True) for service in services))
    await asyncio.gather(*(service.close() for service in services))
    if failure is not None:
        fail(f"worker stopped: {failure}", code=1)


async def _write_elsewhere(base: JobService, served: list[str]) -> None:
    """The application's own queue is not among those served: say so once, and still
    write the schedules it declares, for the queue they belong to (the workers that serve
    that queue fire them; `jobdeck schedules list` shows them unserved meanwhile)."""
    declared = sorted(base._declared)
    await base.initialize()  # writes the declared schedules, idempotently
    await base.close()
    log.warning(
        "serving %s (--queue), not %r, the queue of the application's service: its own "
        "submits go to %r, which this worker does not serve%s",
        ", ".join(repr(queue) for queue in served),
        base.queue,
        base.queue,
        f"; its schedules ({', '.join(declared)}) are written for {base.queue!r} and fire "
        "where a worker serves it"
        if declared
        else "",
    )


async def _hard_stop(services: list[JobService]) -> None:
    pools = [service.pool for service in services if service.pool is not None]
    with contextlib.suppress(Exception):  # leases cover whatever could not be handed back
        await asyncio.wait_for(asyncio.gather(*(p.hand_back_now() for p in pools)), 5.0)
    os._exit(1)


def _new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def parse_queues(values: tuple[str, ...] | list[str]) -> dict[str, int]:
    """`["emails", "reports=3"]` -> {"emails": 1, "reports": 3}, in the order given."""
    weights: dict[str, int] = {}
    for value in values:
        name, sep, weight = value.partition("=")
        validate_name("--queue", name)
        if name in weights:
            raise ValueError(f"--queue: {name!r} is given twice")
        if sep and (not weight.isdigit() or not 1 <= int(weight) <= 1000):
            raise ValueError(f"--queue: the weight of {name!r} must be 1-1000, got {weight!r}")
        weights[name] = int(weight) if sep else 1
    return weights


def split_slots(total: int, weights: list[int]) -> list[int]:
    """Share `total` slots by weight (largest remainder), each queue at least one slot
    unless `total` is 0: a queue that is served is never starved by a busier neighbour."""
    if total == 0:
        return [0] * len(weights)
    exact = [total * w / sum(weights) for w in weights]
    slots = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - slots[i], reverse=True)
    for i in order[: total - sum(slots)]:
        slots[i] += 1
    return [max(1, n) for n in slots]


@click.command()
@click.argument("name")
@url_option
@click.option("--args", "args_json", default="[]", help="JSON array of positional arguments.")
@click.option("--kwargs", "kwargs_json", default="{}", help="JSON object of keyword arguments.")
@click.option(
    "--priority",
    "-p",
    default="normal",
    show_default=True,
    type=click.Choice([p.name.lower() for p in JobPriority], case_sensitive=False),
)
@click.option("--max-retries", type=click.IntRange(0), default=0, show_default=True)
@click.option("--timeout", type=float, default=None, help="Seconds an attempt may run.")
@click.option("--delay", type=float, default=0.0, show_default=True, help="Seconds to wait first.")
@click.option("--job-id", default=None, help="An explicit id (submitting it twice queues once).")
@click.option("--limit", default=None, help="The limit key it runs under (see jobdeck limits).")
@click.option("--group", default=None, help="Its group: groups take turns (fairness).")
@click.option(
    "--meta", "meta_json", default=None, help="JSON object kept and shown with the job (4 KiB)."
)
@click.option("--result-ttl", type=float, default=None, help="Seconds it is kept once completed.")
@click.option(
    "--after",
    "after",
    multiple=True,
    metavar="ID",
    help="A job it waits for (repeat for several): it runs once they all completed.",
)
@click.option(
    "--on-parent-failure",
    type=click.Choice(["fail", "run", "cancel"]),
    default="fail",
    show_default=True,
    help="What it does when a job it waits for does not complete.",
)
@click.option(
    "--expires", type=float, default=None, help="Seconds it may wait to start; then it expires."
)
def submit(
    name: str,
    url: str | None,
    queue: str,
    prefix: str,
    args_json: str,
    kwargs_json: str,
    priority: str,
    max_retries: int,
    timeout: float | None,
    delay: float,
    job_id: str | None,
    limit: str | None,
    group: str | None,
    meta_json: str | None,
    result_ttl: float | None,
    after: tuple[str, ...],
    on_parent_failure: str,
    expires: float | None,
) -> None:
    """Queue one job called NAME and print its id."""
    args = _json_flag("--args", args_json, list)
    kwargs = _json_flag("--kwargs", kwargs_json, dict)
    meta = None if meta_json is None else _json_flag("--meta", meta_json, dict)
    service = make_service(url, queue, prefix)
    if service.url.startswith("memory:"):
        # The queue would live and die inside this command: the id printed would name a job
        # that exists nowhere.
        fail(
            f"{service.description} is a queue inside this one process, so a job submitted "
            "from the command line would run nowhere: give --url redis://host:port/db "
            "(or set JOBDECK_URL) to reach the workers"
        )

    async def go() -> str:
        # submit_job validates every argument before it first touches the server
        try:
            return await service.submit_job(
                name,
                args,
                kwargs,
                priority=priority,
                max_retries=max_retries,
                timeout=timeout,
                delay=delay,
                job_id=job_id,
                limit=limit,
                group=group,
                result_ttl=result_ttl,
                meta=meta,
                expires=expires,
                after=list(after) if after else None,
                on_parent_failure=on_parent_failure,
            )
        except (TypeError, ValueError) as exc:
            fail(str(exc))
        finally:
            await service.close()

    click.echo(run_async(go, service.description))


def _json_flag(flag: str, text: str, kind: type) -> Any:
    try:
        value = loads(text)
    except ValueError as exc:
        fail(f"{flag}: not valid JSON ({exc})")
    if not isinstance(value, kind):
        fail(f"{flag}: expected a JSON {'array' if kind is list else 'object'}")
    return value


@click.command()
@url_option
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON object.")
def stats(url: str | None, queue: str, prefix: str, as_json: bool) -> None:
    """Print queue depths, totals, rates and workers."""
    service = shared_service(url, queue, prefix)

    async def go() -> tuple[QueueMetrics, list[WorkerRecord], list[str]]:
        async with service:
            return (
                await service.get_metrics(),
                await service.list_workers(),
                await service.server_warnings(),
            )

    m, workers, warnings = run_async(go, service.description)
    if as_json:
        click.echo(safe_json(_stats_dict(service, m, workers, warnings)))
        return
    where = display_text(f"{service.description} queue={service.queue}")
    click.echo(f"{where} paused={m.paused}")
    click.echo("  ".join(f"{s.value}={m.depths.get(s.value, 0)}" for s in JobStatus))
    for label, count, by in (
        ("throttled", m.throttled, m.held["throttled"]),
        ("unserved", m.unserved, m.held["unserved"]),
    ):
        if count:
            click.echo(f"{label}={count} (of pending): " + _by_key(by))
    totals = "  ".join(f"{k}={v}" for k, v in sorted(m.totals.items()))
    click.echo("totals: " + display_text(totals))
    click.echo(f"throughput: {m.throughput_10s:.1f}/s (10 s), {m.throughput:.1f}/s (1 min)")
    click.echo(f"workers: {len(workers)}, concurrency: {sum(w.concurrency for w in workers)}")
    for w in sorted(workers, key=lambda w: w.id)[:SHOWN_WORKERS]:
        click.echo(
            display_text(f"  {w.id}  running {w.running} of {w.concurrency}  ", limit=120)
            + "handlers: "
            + _handlers(w)
        )
    if len(workers) > SHOWN_WORKERS:
        click.echo(f"  ... and {len(workers) - SHOWN_WORKERS} more (--json lists them all)")
    for warning in warnings:
        click.echo(f"WARNING: {warning}")


#: Worker lines `jobdeck stats` prints (all of them are in `--json`).
SHOWN_WORKERS = 20


def _by_key(counts: dict[str, int]) -> str:
    """'stripe 12, user:* 3' for at most ten keys, the most first."""
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{key} {n}" for key, n in top[:10])
    return display_text(text + (f", ... {len(top) - 10} more" if len(top) > 10 else ""), limit=300)


def _handlers(worker: WorkerRecord) -> str:
    more = worker.handler_count - len(worker.handlers)
    names = display_text(", ".join(worker.handlers) or "none", limit=300)
    return names + (f" (+{more} more)" if more > 0 else "")


def _stats_dict(
    service: JobService, m: QueueMetrics, workers: list[WorkerRecord], warnings: list[str]
) -> dict[str, Any]:
    return {
        "queue": service.queue,
        "server": service.description,
        "paused": m.paused,
        "depths": {s.value: m.depths.get(s.value, 0) for s in JobStatus},
        "throttled": m.throttled,
        "unserved": m.unserved,
        "held": m.held,
        "totals": dict(sorted(m.totals.items())),
        "throughput": m.throughput,
        "throughput_10s": m.throughput_10s,
        "avg_wait": m.avg_wait,
        "avg_run": m.avg_run,
        "workers": [{**w.to_dict(), "last_heartbeat": w.last_heartbeat} for w in workers],
        "concurrency": sum(w.concurrency for w in workers),
        "warnings": warnings,
    }


@click.command()
@click.option("--url", "-u", envvar="JOBDECK_URL", default=None, help=URL_HELP)
@click.option("--prefix", default="jobdeck", show_default=True, help="Key prefix.")
def queues(url: str | None, prefix: str) -> None:
    """List the queues under the prefix, one a line."""
    service = shared_service(url, "default", prefix)

    async def go() -> list[str]:
        async with service:
            return await service.list_queues()

    for name in run_async(go, service.description):
        click.echo(display_text(name))  # queue names come from keys anyone can write


@click.command()
@click.argument("role", type=click.Choice(sorted(ROLES)))
@click.option("--prefix", default="jobdeck", show_default=True, help="Key prefix.")
@click.option("--user", default=None, help="The ACL user name (default: jobdeck-ROLE).")
def acl(role: str, prefix: str, user: str | None) -> None:
    """Print the least-privilege `ACL SETUSER` command for ROLE on the prefix."""
    try:
        rules = acl_rules(role, prefix)
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"ACL SETUSER {user or 'jobdeck-' + role} on >PASSWORD {rules}")
