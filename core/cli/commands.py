"""The core's own commands: run a worker process, submit a job, print queue figures."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

import click

from ..codec import loads
from ..models import JobPriority, JobStatus
from ..service import JobService
from ..worker.pool import WorkerSettings
from .common import fail, load_service, make_service, run_async, url_option

log = logging.getLogger("jobdeck")


def register(main: click.Group) -> None:
    """Add the core's commands to the `jobdeck` group."""
    for command in (worker, submit, stats):
        main.add_command(command)


@click.command()
@click.argument("app")
@url_option
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(0, 10_000),
    default=None,
    help="Jobs run at once (default: CPU count).",
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
    queue: str,
    prefix: str,
    concurrency: int | None,
    lease: float,
    shutdown_timeout: float,
    worker_id: str | None,
) -> None:
    """Run a worker process for APP (module:attr naming a JobService with handlers)."""
    base = load_service(app)
    settings = WorkerSettings(
        lease=lease, heartbeat_interval=min(5.0, lease / 3), shutdown_timeout=shutdown_timeout
    )
    service = make_service(url, queue, prefix, base)
    service.worker_settings = settings
    if not service.handlers:
        log.warning("%s has no handlers registered: every job will be dead-lettered", app)
    run_async(lambda: _run_worker(service, concurrency, worker_id), service.description)


async def _run_worker(service: JobService, concurrency: int | None, worker_id: str | None) -> None:
    await service.initialize()
    for warning in await service.backend.server_warnings():
        log.warning("%s", warning)
    pool = await service.start_workers(concurrency, worker_id=worker_id)
    log.info(
        "worker %s on %s, queue %r, handlers: %s",
        pool.id,
        service.description,
        service.queue,
        ", ".join(sorted(service.handlers)) or "none",
    )
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
            asyncio.get_running_loop().create_task(_hard_stop(service))

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    await stop.wait()
    await service.stop_workers(graceful=True)
    await service.close()


async def _hard_stop(service: JobService) -> None:
    pool = service.pool
    if pool is not None:
        for job_id in list(pool._running):
            pool.cancel_local(job_id, "shutdown")
        await asyncio.sleep(2.0)  # time to hand the jobs back; leases cover the rest
    os._exit(1)


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
) -> None:
    """Queue one job called NAME and print its id."""
    args = _json_flag("--args", args_json, list)
    kwargs = _json_flag("--kwargs", kwargs_json, dict)
    service = make_service(url, queue, prefix)

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
def stats(url: str | None, queue: str, prefix: str) -> None:
    """Print queue depths, totals and rates."""
    service = make_service(url, queue, prefix)

    async def go() -> None:
        async with service:
            m = await service.get_metrics()
            workers = await service.list_workers()
        click.echo(f"{service.description} queue={service.queue} paused={m.paused}")
        click.echo("  ".join(f"{s.value}={m.depths.get(s.value, 0)}" for s in JobStatus))
        click.echo("totals: " + "  ".join(f"{k}={v}" for k, v in sorted(m.totals.items())))
        click.echo(f"throughput: {m.throughput_10s:.1f}/s (10 s), {m.throughput:.1f}/s (1 min)")
        click.echo(f"workers: {len(workers)}, slots: {sum(w.concurrency for w in workers)}")

    run_async(go, service.description)
