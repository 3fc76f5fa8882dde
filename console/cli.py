"""The console's commands for `jobdeck`: `console` and `demo`. Registered through the
`jobdeck.commands` entry point; Textual is imported only when one of them runs, so a worker
host that lists `jobdeck --help` never loads it."""

from __future__ import annotations

import sys
from typing import Any

import click

from jobdeck.core.cli.common import URL_HELP, fail, load_service, make_service, url_option


def refresh_option(function: Any) -> Any:
    return click.option(
        "--refresh",
        type=click.FloatRange(0.1, 60.0),
        default=0.5,
        show_default=True,
        metavar="SECONDS",
        help="Draw live changes at most this often (a slow link wants 2-10; keys always "
        "answer at once; `L` changes it while the console runs).",
    )(function)


def concurrency_options(default: int | None, upper: int, help: str) -> Any:
    """`-c/--concurrency`: how many jobs the embedded workers run at once. `-w/--workers`,
    which meant the same, stays for a release as a hidden alias."""

    def decorate(function: Any) -> Any:
        function = click.option(
            "--workers", "-w", "workers_alias", type=click.IntRange(0, upper), default=None,
            hidden=True,
        )(function)
        return click.option(
            "--concurrency", "-c", type=click.IntRange(0, upper), default=default,
            show_default=default is not None, help=help,
        )(function)  # fmt: skip

    return decorate


def history_option(function: Any) -> Any:
    return click.option(
        "--time-mode-jobs",
        type=click.IntRange(1_000, 10_000_000),
        default=50_000,
        show_default=True,
        metavar="JOBS",
        help="Jobs the time mode and the charts keep in memory (~0.7 KB each); past it the "
        "oldest are let go.",
    )(function)


def register(main: click.Group) -> None:
    for command in (console, demo):
        main.add_command(command)


@click.command()
@url_option
@click.option("--read-only", is_flag=True, help="Watch only: every action key is refused.")
@click.option(
    "--app", "app", default=None, help="module:attr of a JobService: embedded worker mode."
)
@concurrency_options(
    None, 10_000, "With --app: how many jobs the console's own workers run at once."
)
@click.option(
    "--web", is_flag=True, help="Serve the console to browsers (textual-serve; it has no login)."
)
@click.option("--host", default="localhost", show_default=True, help="With --web: address.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@refresh_option
@history_option
def console(
    url: str | None,
    queue: str,
    prefix: str,
    read_only: bool,
    app: str | None,
    concurrency: int | None,
    workers_alias: int | None,
    web: bool,
    host: str,
    port: int,
    refresh: float,
    time_mode_jobs: int,
) -> None:
    """Open the live console on a queue."""
    workers = concurrency if concurrency is not None else workers_alias
    if workers is not None and app is None:
        fail("--concurrency needs --app (the handlers the embedded workers run)")
    if app is None and url is not None and url.startswith("memory:"):
        # as every command that reads a queue says it (shared_service): it would be empty
        fail(
            f"{url} is a queue inside this one process, so this console would only ever see "
            "an empty queue: give --url redis://host:port/db (or set JOBDECK_URL), --app "
            "for workers of its own, or try `jobdeck demo`"
        )
    if web:
        if app is not None or url is None:
            fail("--web needs --url (each browser tab runs its own console on that queue)")
        from jobdeck.console.web_serve import serve_console

        serve_console(url, queue, prefix, read_only=read_only, host=host, port=port)
        return
    base = load_service(app) if app else None
    if url is None and base is None:
        fail("no queue to open: pass --url (or set JOBDECK_URL), or try `jobdeck demo`")
    service = make_service(url, queue, prefix, base)
    from jobdeck.console.launch import run_console

    code = run_console(
        service,
        read_only=read_only,
        workers=workers if base else None,
        refresh=refresh,
        time_mode_jobs=time_mode_jobs,
    )
    sys.exit(code)


@click.command()
@concurrency_options(
    4,
    64,
    "How many jobs the console's own worker runs at once (a second, simulated worker runs 2 "
    "more).",
)
@click.option("--url", "-u", default="memory://demo", show_default=True, help=URL_HELP)
@refresh_option
@history_option
def demo(
    concurrency: int,
    workers_alias: int | None,
    url: str,
    refresh: float,
    time_mode_jobs: int,
) -> None:
    """The console on the embedded memory backend with workers and a stream of demo jobs."""
    from jobdeck.console.launch import run_demo

    workers = workers_alias if workers_alias is not None else concurrency
    sys.exit(run_demo(url=url, workers=workers, refresh=refresh, time_mode_jobs=time_mode_jobs))
