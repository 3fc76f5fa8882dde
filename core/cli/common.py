"""What every `jobdeck` command shares, whichever package registers it: one-line errors,
loading an application's service, building a service from the flags, running a coroutine,
and JSON output that cannot drive the reader's terminal (`safe_json`).

Every user mistake (a bad flag, a URL that does not parse or does not answer, a `module:attr`
that is not a JobService) ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import sys
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn, Protocol, TypeVar

import click
from redis.exceptions import NoPermissionError, RedisError

from ..errors import OutOfMemory
from ..service import JobService
from ..text import display_text

log = logging.getLogger("jobdeck")
T = TypeVar("T")

URL_HELP = "Redis URL (redis://host:port/db, rediss://, unix://) or memory://; env JOBDECK_URL."


def fail(message: str, code: int = 2) -> NoReturn:
    one_line = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    click.echo(f"jobdeck: error: {display_text(one_line, limit=2000)}", err=True)
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
            if not sep:
                _name_the_service(target)
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


def _name_the_service(target: str) -> None:
    """`jobdeck worker examples.tasks` named a module, not the service in it (it read as the
    attribute `tasks` of the package `examples`): if it is one, say which attribute to add."""
    try:
        module = importlib.import_module(target)
    except Exception:
        return
    found = sorted(name for name, value in vars(module).items() if isinstance(value, JobService))
    names = " or ".join(f"{target}:{name}" for name in found[:3]) or f"{target}:service"
    fail(f"{target!r} is a module: name the JobService in it as module:attribute, e.g. {names}")


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
        if queue == base.queue:  # schedules are declared for the application's own queue
            service._declared.update(base._declared)
    return service


def shared_service(url: str | None, queue: str, prefix: str) -> JobService:
    """A service for a command that reads or steers a queue. Refused on `memory://` (what
    no `--url` and no JOBDECK_URL mean): that queue would live inside this one command,
    empty, and its answer ("nothing pending") would be a lie about the real one."""
    service = make_service(url, queue, prefix)
    if service.url.startswith("memory:"):
        fail(
            f"{service.description} is a queue inside this one process, so this command "
            "would only ever see an empty queue: give --url redis://host:port/db (or set "
            "JOBDECK_URL) to reach the queue the workers serve"
        )
    return service


def run_on(
    service: JobService,
    call: Callable[[JobService], Awaitable[T]],
    refused: tuple[type[Exception], ...] = (),
) -> T:
    """`call(service)` in an event loop of its own, the service opened and closed around it.
    An error of a `refused` type is the user's mistake (a bad value, no such schedule): its
    message on one line and exit 2, as every error (`run_async`)."""

    async def go() -> T:
        async with service:
            try:
                return await call(service)
            except refused as exc:
                fail(_refusal(exc))

    return run_async(go, service.description)


def on_queue(
    url: str | None,
    queue: str,
    prefix: str,
    call: Callable[[JobService], Awaitable[T]],
    refused: tuple[type[Exception], ...] = (),
) -> T:
    """`run_on` the queue the flags name, reached as `shared_service` reaches it."""
    return run_on(shared_service(url, queue, prefix), call, refused)


def _refusal(exc: Exception) -> str:
    # str(KeyError("x")) is "'x'", quoted: its message is its argument
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def run_async(main: Callable[[], Awaitable[T]], describe: str) -> T:
    try:
        return asyncio.run(main())  # type: ignore[arg-type]
    except OutOfMemory as exc:
        fail(str(exc), code=1)
    except NoPermissionError as exc:
        fail(f"Redis refused a command: {exc} (the ACL of the user in the URL lacks it)", code=1)
    except (RedisError, OSError) as exc:
        message = str(exc).rstrip(".")
        if not message.startswith("cannot reach"):
            message = f"cannot reach {describe}: {message}"
        stop = "" if message.endswith("?") else "."
        fail(f"{message}{stop} (Try `jobdeck demo` for a local demo.)", code=1)


def url_option(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--prefix", default="jobdeck", show_default=True, help="Key prefix.")(func)
    func = click.option("--queue", "-q", default="default", show_default=True)(func)
    return click.option("--url", "-u", envvar="JOBDECK_URL", default=None, help=URL_HELP)(func)


class Listed(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


L = TypeVar("L", bound=Listed)


def echo_listing(
    items: Sequence[L],
    as_json: bool,
    what: str,
    header: tuple[str, ...],
    cells: Callable[[L], tuple[str, ...]],
) -> None:
    """A `list` command's output: with `--json`, each item's `to_dict()` on a line of its own
    (`safe_json`: what anyone wrote into the queue cannot drive the terminal); else `no
    <what>`, or a table under `header`, columns aligned, `cells` giving an item's row (each
    cell already made safe to show)."""
    if as_json:
        for item in items:
            click.echo(safe_json(item.to_dict()))
        return
    if not items:
        click.echo(f"no {what}")
        return
    table = [header, *(cells(item) for item in items)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def safe_json(value: Any) -> str:
    """`value` as JSON on one line, with every character that would act on a terminal
    (controls, bidi overrides, zero-width, lone surrogates) written as a \\u escape: still
    the same JSON value, but nothing in a result can drive the reader's terminal."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    if text.isascii() and "\x7f" not in text:
        return text
    return "".join(_escaped(char) for char in text)


def _escaped(char: str) -> str:
    if unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON spells a character past the BMP as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
