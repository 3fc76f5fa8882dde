"""`jobdeck submit NAME`: queue one job from a shell and print its id."""

from __future__ import annotations

from typing import Any

import click

from ..codec import loads
from ..models import JobPriority
from .common import fail, make_service, run_async, url_option

__all__ = ["submit"]


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

