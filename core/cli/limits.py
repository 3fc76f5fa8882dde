"""`jobdeck limits ...`: list a queue's limits, set one, remove one.

Limits live in Redis: these work from any machine that reaches the queue's server, and a
change holds at once for every worker (nothing to restart)."""

from __future__ import annotations

import click

from ..limits import Limit
from ..text import display_text
from .common import echo_listing, fail, on_queue, url_option

__all__ = ["limits"]

_BAD_VALUE = (TypeError, ValueError)  # a bad key or value: one line


@click.group()
def limits() -> None:
    """Rate and concurrency limits of a queue (jobs name theirs with submit's --limit)."""


def describe(limit: Limit) -> tuple[str, str, str]:
    """A limit's concurrency (in use / most), rate and throttled count, as a table shows."""
    each = " per key" if limit.is_template else ""  # a template: in use under all its keys
    if limit.concurrency is None:
        concurrency = f"{limit.in_use} / -"
    elif limit.concurrency == 0:
        concurrency = f"{limit.in_use} / 0 (paused)"
    else:
        concurrency = f"{limit.in_use} / {limit.concurrency}{each}"
    rate = "-" if limit.rate is None else f"{limit.rate} per {limit.per:g}s"
    return concurrency, rate, str(limit.throttled)


@limits.command("list")
@url_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per limit, a line each.")
def list_(url: str | None, queue: str, prefix: str, as_json: bool) -> None:
    """Every limit: its key, jobs running / its concurrency, its rate, jobs throttled."""
    rows: list[Limit] = on_queue(url, queue, prefix, lambda s: s.list_limits(), _BAD_VALUE)
    header = ("KEY", "RUNNING / CONCURRENCY", "RATE", "THROTTLED")
    echo_listing(rows, as_json, "limits", header, _cells)


def _cells(lim: Limit) -> tuple[str, ...]:
    return (display_text(lim.key, limit=60), *describe(lim))


@limits.command("set")
@click.argument("key")
@url_option
@click.option(
    "--concurrency", "-c", type=int, default=None, help="Jobs running at once (0: paused)."
)
@click.option("--rate", "-r", type=int, default=None, help="Starts per --per seconds.")
@click.option("--per", type=float, default=1.0, show_default=True, help="The rate's window.")
def set_(
    key: str,
    url: str | None,
    queue: str,
    prefix: str,
    concurrency: int | None,
    rate: int | None,
    per: float,
) -> None:
    """Set the limit on KEY: a key jobs name (stripe), a template (user:*, each key it covers
    on its own) or * (every key). Replaces KEY's limit at once."""
    limit: Limit = on_queue(
        url,
        queue,
        prefix,
        lambda s: s.set_limit(key, concurrency=concurrency, rate=rate, per=per),
        _BAD_VALUE,
    )
    concurrency_text, rate_text, _ = describe(limit)
    click.echo(
        display_text(f"{limit.key}: concurrency {concurrency_text.split(' / ')[1]}, ")
        + f"rate {rate_text}"
    )


@limits.command("remove")
@click.argument("key")
@url_option
def remove(key: str, url: str | None, queue: str, prefix: str) -> None:
    """Remove the limit on KEY; the jobs it throttled start as workers take them."""
    if not on_queue(url, queue, prefix, lambda s: s.remove_limit(key), _BAD_VALUE):
        fail(display_text(f"no limit named {key!r} on queue {queue!r}"))
    click.echo(display_text(f"{key}: removed"))
