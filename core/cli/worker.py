"""`jobdeck worker APP`: a worker process for an application's service, on one queue or on
several by weight, stopped gracefully by the first signal and at once by the second."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid

import click

from ..keys import validate_name
from ..lifespan import LifespanError
from ..service import JobService
from ..worker.pool import WorkerSettings
from .common import URL_HELP, fail, load_service, run_async

__all__ = ["parse_queues", "share_concurrency", "worker"]

log = logging.getLogger("jobdeck")


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
    "1 each.",
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
    shares = share_concurrency(total, list(weights.values()))
    run_async(lambda: _run_worker(services, shares, worker_id, base), services[0].description)


async def _run_worker(
    services: list[JobService], shares: list[int], worker_id: str | None, base: JobService
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
        for service, count in zip(services, shares, strict=True):
            await service.start_workers(count, worker_id=worker_id)
    except LifespanError as exc:  # nothing ran: stop what started, and say why
        await asyncio.gather(*(service.close() for service in services))
        fail(f"worker not started: {exc}", code=1)
    log.info(
        "worker %s on %s, queues %s, handlers: %s",
        worker_id,
        services[0].description,
        ", ".join(f"{s.queue} (concurrency {n})" for s, n in zip(services, shares, strict=True)),
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


def share_concurrency(total: int, weights: list[int]) -> list[int]:
    """Share a worker's concurrency `total` among its queues by weight (largest remainder),
    each queue at least 1 unless `total` is 0: a queue that is served is never starved by a
    busier neighbour."""
    if total == 0:
        return [0] * len(weights)
    exact = [total * w / sum(weights) for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return [max(1, n) for n in shares]

