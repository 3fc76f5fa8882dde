"""The `jobdeck` command: run workers, submit and inspect jobs, open the console.

Every user mistake (a bad flag, a URL that does not parse or does not answer, a `module:attr`
that is not a JobService) ends in one line on stderr and a non-zero exit, never a traceback.
The console commands import Textual only when they run, so worker hosts never load it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click
from redis.exceptions import RedisError

from .codec import loads
from .models import JobPriority, JobStatus
from .service import JobService
from .worker.pool import WorkerSettings

log = logging.getLogger("jobdeck")
T = TypeVar("T")

URL_HELP = "Redis URL (redis://host:port/db, rediss://, unix://) or memory://; env JOBDECK_URL."


def fail(message: str, code: int = 2) -> NoReturn:
    one_line = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    click.echo(f"jobdeck: error: {one_line}", err=True)
    sys.exit(code)


class OneLineErrors(click.Group):
    """Usage mistakes (a bad option value, an unknown option or command) end in one line
    like every other error, not in click's usage block. Help, including `jobdeck` with no
    arguments, is shown as usual."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _usage_error(exc)


def _usage_error(exc: click.UsageError) -> NoReturn:
    if isinstance(exc, getattr(click.exceptions, "NoArgsIsHelpError", ())):
        raise exc
    fail(exc.format_message())


def load_service(target: str) -> JobService:
    """Import `module:attr` (or `module.attr`) naming a JobService, with one-line errors."""
    module_name, sep, attr = target.partition(":")
    if not sep:
        module_name, _, attr = target.rpartition(".")
    if not module_name or not attr:
        fail(f"{target!r} is not of the form module:attribute (e.g. myapp.tasks:service)")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        fail(f"cannot import {module_name!r}: {exc}")
    except Exception as exc:
        fail(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}")
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            fail(f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, JobService):
        try:
            obj = obj()
        except Exception as exc:
            fail(f"calling {target!r} failed: {type(exc).__name__}: {exc}")
    if not isinstance(obj, JobService):
        fail(f"{target!r} is a {type(obj).__name__}, not a jobdeck JobService")
    return obj


def make_service(
    url: str | None, queue: str, prefix: str, base: JobService | None = None, **kwargs: Any
) -> JobService:
    """A service for the flags given; handlers, retry policy and backend and worker settings
    come from `base` (the application's own service) if any."""
    try:
        if base is not None and url is None and queue == base.queue and prefix == base.prefix:
            return base
        service = JobService(
            url or (base.url if base else None),
            queue,
            prefix,
            retry_policy=base.retry_policy if base else None,
            settings=base.backend.settings if base else None,
            worker_settings=base.worker_settings if base else None,
            **kwargs,
        )
    except ValueError as exc:
        fail(str(exc))
    if base is not None:
        service.handlers.update(base.handlers)
    return service


def run_async(main: Callable[[], Awaitable[T]], describe: str) -> T:
    try:
        return asyncio.run(main())  # type: ignore[arg-type]
    except (RedisError, OSError) as exc:
        message = str(exc).rstrip(".")
        if not message.startswith("cannot reach"):
            message = f"cannot reach {describe}: {message}"
        fail(f"{message}. (Try `jobdeck demo` for a local demo.)", code=1)


def url_option(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--prefix", default="jobdeck", show_default=True, help="Key prefix.")(func)
    func = click.option("--queue", "-q", default="default", show_default=True)(func)
    return click.option("--url", "-u", envvar="JOBDECK_URL", default=None, help=URL_HELP)(func)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
def main(log_level: str) -> None:
    """jobdeck: an asyncio job queue on Redis, with a live terminal console."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )


@main.command()
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


@main.command()
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


@main.command()
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


@main.command()
@url_option
@click.option("--read-only", is_flag=True, help="Watch only: every action key is refused.")
@click.option(
    "--app", "app", default=None, help="module:attr of a JobService: embedded worker mode."
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(0, 10_000),
    default=None,
    help="With --app: worker slots to run inside the console process.",
)
def console(
    url: str | None, queue: str, prefix: str, read_only: bool, app: str | None, workers: int | None
) -> None:
    """Open the live console on a queue."""
    if workers is not None and app is None:
        fail("--workers needs --app (the handlers the embedded workers run)")
    base = load_service(app) if app else None
    if url is None and base is None:
        fail("no queue to open: pass --url (or set JOBDECK_URL), or try `jobdeck demo`")
    service = make_service(url, queue, prefix, base)
    from jobdeck.console.launch import run_console

    code = run_console(service, read_only=read_only, workers=workers if base else None)
    sys.exit(code)


@main.command()
@click.option("--workers", "-w", type=click.IntRange(0, 64), default=4, show_default=True)
@click.option("--url", "-u", default="memory://demo", show_default=True, help=URL_HELP)
def demo(workers: int, url: str) -> None:
    """The console on the embedded memory backend with workers and a stream of demo jobs."""
    from jobdeck.console.launch import run_demo

    sys.exit(run_demo(url=url, workers=workers))


if __name__ == "__main__":  # pragma: no cover
    main()
