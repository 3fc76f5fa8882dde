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
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(0, 10_000),
    default=None,
    help="With --app: worker slots to run inside the console process.",
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
    workers: int | None,
    web: bool,
    host: str,
    port: int,
    refresh: float,
    time_mode_jobs: int,
) -> None:
    """Open the live console on a queue."""
    if workers is not None and app is None:
        fail("--workers needs --app (the handlers the embedded workers run)")
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
@click.option("--workers", "-w", type=click.IntRange(0, 64), default=4, show_default=True)
@click.option("--url", "-u", default="memory://demo", show_default=True, help=URL_HELP)
@refresh_option
@history_option
def demo(workers: int, url: str, refresh: float, time_mode_jobs: int) -> None:
    """The console on the embedded memory backend with workers and a stream of demo jobs."""
    from jobdeck.console.launch import run_demo

    sys.exit(run_demo(url=url, workers=workers, refresh=refresh, time_mode_jobs=time_mode_jobs))
