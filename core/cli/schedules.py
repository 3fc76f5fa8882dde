"""`jobdeck schedules ...`: list the queue's schedules, pause, resume, trigger or remove one.

Works from any machine that reaches the queue's Redis; nothing here needs the application's
code (schedules live in Redis)."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import click

from ..schedules import ScheduleInfo
from ..service import JobService
from ..text import display_text
from .common import echo_listing, fail, on_queue, url_option

__all__ = ["schedules"]

_NO_SUCH = (KeyError,)  # no schedule of that name: one line


@click.group()
def schedules() -> None:
    """Cron and interval schedules of a queue."""


@schedules.command("list")
@url_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per schedule, a line each.")
def list_(url: str | None, queue: str, prefix: str, as_json: bool) -> None:
    """Every schedule with its timing, next and last fire, and the last job's outcome."""
    rows: list[ScheduleInfo] = on_queue(url, queue, prefix, lambda s: s.list_schedules(), _NO_SUCH)
    header = ("NAME", "JOB", "WHEN", "STATE", "NEXT", "LAST", "LAST JOB")
    echo_listing(rows, as_json, "schedules", header, _cells)
    if not as_json and any(info.unserved and not info.paused for info in rows):
        click.echo(
            display_text(
                f"unserved: no live worker serves queue {queue!r}, so nothing fires these "
                f"schedules; start one (jobdeck worker APP --queue {queue})"
            ),
            err=True,
        )


def _cells(info: ScheduleInfo) -> tuple[str, ...]:
    return (
        display_text(info.name, limit=40),
        display_text(info.job, limit=40),
        display_text(info.when, limit=60),
        _state(info),
        _when(info.next_fire),
        _when(info.last_fire),
        display_text(info.last_status or "-", limit=20),
    )


def _state(info: ScheduleInfo) -> str:
    if info.paused:
        return "paused"
    if info.error:
        return "unreadable"
    return "unserved" if info.unserved else "active"


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(stamp))


def _named(verb: str, doc: str, call: Callable[[JobService, str], Awaitable[Any]]) -> None:
    @schedules.command(verb, help=doc)
    @click.argument("name")
    @url_option
    def command(name: str, url: str | None, queue: str, prefix: str) -> None:
        result = on_queue(url, queue, prefix, lambda s: call(s, name), _NO_SUCH)
        click.echo(_said(verb, display_text(name, limit=64), result))


def _said(verb: str, name: str, result: Any) -> str:
    if verb == "trigger":
        return f"schedule {name}: queued job {display_text(str(result))}"
    done = {"pause": "paused", "resume": "resumed"}[verb]
    return f"schedule {name}: {done}" if result else f"schedule {name}: already {done}"


_named(
    "pause", "Stop firing NAME (running jobs are not touched).", lambda s, n: s.pause_schedule(n)
)
_named(
    "resume",
    "Fire NAME again from its next tick (ticks missed while paused do not run).",
    lambda s, n: s.resume_schedule(n),
)
_named(
    "trigger",
    "Queue NAME's job now; its regular ticks are unchanged.",
    lambda s, n: s.trigger_schedule(n),
)


@schedules.command()
@click.argument("name")
@url_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def remove(name: str, url: str | None, queue: str, prefix: str, yes: bool) -> None:
    """Delete schedule NAME (jobs it queued stay). Asks first unless --yes."""
    shown = display_text(name, limit=64)
    if not yes:
        if not sys.stdin.isatty():
            fail("remove: confirm with --yes (no terminal to ask on)")
        click.confirm(f"Remove schedule {shown}?", abort=True)
    removed = on_queue(url, queue, prefix, lambda s: s.remove_schedule(name), _NO_SUCH)
    if not removed:
        fail(f"schedule: no schedule named {shown}")
    click.echo(f"schedule {shown}: removed")
