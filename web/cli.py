"""The web surface's commands for `jobdeck`: `serve` and `api-key new`. Registered through
the `jobdeck.commands` entry point; FastAPI and uvicorn are imported only when `serve` runs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib.util
import ipaddress
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any

import click

from jobdeck.core.cli.common import fail, load_service, make_service, url_option

__all__ = ["register"]

# Without the web extra the surface is skipped (its commands are absent from --help). Found,
# not imported: listing commands must not load FastAPI (or pydantic, which imports pickle).
if importlib.util.find_spec("fastapi") is None:
    raise ImportError("the web extra is not installed (pip install 'jobdeck[web]')")


def register(main: click.Group) -> None:
    main.add_command(serve)
    main.add_command(api_key)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command()
@url_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option(
    "--api-keys-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Keys, one 'scope:key' or 'scope:sha256:<hex>' per line (also env JOBDECK_API_KEYS).",
)
@click.option("--read-only", is_flag=True, help="Refuse every operate endpoint (403).")
@click.option(
    "--no-auth", is_flag=True, help="Serve without keys on a non-loopback address (unsafe)."
)
@click.option("--open-metrics", is_flag=True, help="/metrics needs no key (health never does).")
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A Host name clients may use (repeatable; '*' for any). Without keys, only loopback "
    "names and the listening address are answered (DNS rebinding).",
)
@click.option("--app", "app", default=None, help="module:attr of a JobService (embedded workers).")
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(0, 10_000),
    default=None,
    help="With --app: how many jobs the embedded workers run at once, inside the server "
    "process.",
)
# `-w/--workers` meant the same: a hidden alias for a release.
@click.option("--workers", "-w", "workers_alias", type=click.IntRange(0, 10_000), hidden=True)
@click.option("--access-log", is_flag=True, help="Log every request (method, path, status).")
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1, 3600),
    default=10.0,
    show_default=True,
    help="Seconds a client has to send a request's headers.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 1_000_000),
    default=1024,
    show_default=True,
    help="Open connections (live event streams included) past which requests get 503.",
)
def serve(
    url: str | None,
    queue: str,
    prefix: str,
    host: str,
    port: int,
    api_keys_file: str | None,
    read_only: bool,
    no_auth: bool,
    open_metrics: bool,
    allowed_hosts: tuple[str, ...],
    app: str | None,
    concurrency: int | None,
    workers_alias: int | None,
    access_log: bool,
    header_timeout: float,
    max_connections: int,
) -> None:
    """Serve the dashboard and the HTTP API (JSON, live events, /metrics) for a queue."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        fail(f"the web extra is not installed ({exc.name}): pip install 'jobdeck[web]'")
    from .auth import ApiKeys, Auth
    from .server import ListenError, bind

    if concurrency is None:
        concurrency = workers_alias
    if concurrency is not None and app is None:
        fail("--concurrency needs --app (the handlers the embedded workers run)")
    try:
        keys = ApiKeys.from_environment(api_keys_file)
    except ValueError as exc:
        fail(str(exc))
    if no_auth and keys:
        fail("--no-auth contradicts the API keys configured (JOBDECK_API_KEYS/--api-keys-file)")
    if not keys and not no_auth and not is_loopback(host):
        fail(
            f"refusing to serve on {host} without API keys: set JOBDECK_API_KEYS or "
            "--api-keys-file (see `jobdeck api-key new`), or pass --no-auth to serve it open"
        )
    hosts = host_names(host, allowed_hosts, keyless=not keys)
    auth = Auth.with_keys(keys)
    base = load_service(app) if app else None
    service = make_service(url, queue, prefix, base)
    try:
        sock = bind(host, port)
    except ListenError as exc:
        fail(str(exc), code=1)
    if no_auth:
        click.echo(f"jobdeck: WARNING: serving {host} with no authentication (--no-auth)", err=True)
    options = Options(
        read_only, open_metrics, hosts, concurrency, access_log, header_timeout, max_connections
    )
    sys.exit(_run(service, sock, auth, options))


def host_names(host: str, allowed: tuple[str, ...], *, keyless: bool) -> frozenset[str] | None:
    """The Host names the server answers for: without keys, loopback names and the address
    it listens on (a page of another site, resolved to 127.0.0.1 by DNS rebinding, names
    its own); with keys, any unless `--allowed-host` says otherwise."""
    if not allowed and not keyless:
        return None
    names = {name.strip().strip("[]").lower() for name in allowed}
    if keyless:
        names |= {"localhost", "127.0.0.1", "::1"}
        if host not in ("0.0.0.0", "::", ""):
            names.add(host.strip("[]").lower())
    return frozenset(names)


@dataclass(frozen=True)
class Options:
    read_only: bool
    open_metrics: bool
    allowed_hosts: frozenset[str] | None
    concurrency: int | None  # of the embedded workers (with --app)
    access_log: bool
    header_timeout: float
    max_connections: int


def banner(service: Any, address: tuple[Any, ...], auth: Any, options: Options) -> str:
    """Where everything is and how it is protected, for the person who started it."""
    shown = f"[{address[0]}]" if ":" in address[0] else address[0]
    if shown in ("0.0.0.0", "[::]"):
        shown = socket.gethostname()
    base = f"http://{shown}:{address[1]}"
    notes = [
        "read-only" if options.read_only else "",
        f"embedded workers at concurrency {options.concurrency}" if options.concurrency else "",
        "/metrics open" if options.open_metrics or not auth.required else "/metrics needs a key",
        "access log on stdout" if options.access_log else "",
    ]
    lines = [
        f"jobdeck: serving queue {service.queue!r} of {service.description}",
        f"  dashboard  {base}/",
        f"  API docs   {base}/docs",
        *(f"  auth       {line}" for line in auth.describe().splitlines()),
        *(
            []
            if auth.required
            else ["  auth       writes from other sites' pages are refused (Origin, Host checks)"]
        ),
        f"  health     {base}/healthz, {base}/readyz (no key needed)",
    ]
    if options.allowed_hosts is not None:
        names = ", ".join(sorted(options.allowed_hosts))
        lines.append(f"  hosts      answers only for Host: {names}")
    lines.append(f"  options    {', '.join(note for note in notes if note)}")
    lines.append(f"  API        {base}/api/v1")
    return "\n".join(lines)


def _run(service: Any, sock: socket.socket, auth: Any, options: Options) -> int:
    import uvicorn

    from .app import create_app
    from .server import uvicorn_config

    async def main() -> int:
        try:
            await service.initialize()
        except OSError as exc:  # redis errors for an unreachable server are OSError-like
            fail(f"cannot reach {service.description}: {exc}", code=1)
        except Exception as exc:
            from redis.exceptions import RedisError

            if isinstance(exc, RedisError):
                fail(f"cannot reach {service.description}: {exc}", code=1)
            raise
        try:
            if options.concurrency:
                await service.start_workers(options.concurrency)
            app = create_app(
                service,
                auth=auth,
                read_only=options.read_only,
                open_metrics=options.open_metrics,
                allowed_hosts=options.allowed_hosts,
            )
            config = uvicorn_config(
                app,
                access_log=options.access_log,
                header_timeout=options.header_timeout,
                max_connections=options.max_connections,
            )
            server = uvicorn.Server(config)
            # Our own handlers: uvicorn's re-raise the signal after its shutdown, which would
            # kill the process before the service (and embedded workers) close cleanly.
            server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, lambda: setattr(server, "should_exit", True))
            task = asyncio.create_task(server.serve(sockets=[sock]))
            # uvicorn sets a flag, not an event, once it listens.
            while not server.started and not task.done():  # noqa: ASYNC110
                await asyncio.sleep(0.02)
            if server.started:
                # Everything made to start (FastAPI's routes and models, pydantic's schemas,
                # the imports) lives as long as the process: frozen, the collector stops
                # walking it in every full collection, which under a load of submits came
                # every few hundred requests and stalled them all (POST /jobs at 32 clients:
                # p99 108-130 ms before, 24-31 ms after; docs/performance.md, HTTP API).
                gc.collect()
                gc.freeze()
                click.echo(banner(service, sock.getsockname(), auth, options), err=True)
            await task
            return 0 if server.started else 1
        finally:
            await service.close()

    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:
        return asyncio.run(main())


@click.group("api-key")
def api_key() -> None:
    """Make API keys for `jobdeck serve`."""


@api_key.command("new")
@click.option(
    "--scope",
    type=click.Choice(["read", "operate"]),
    required=True,
    help="read: every GET and the event stream; operate: everything.",
)
def new_api_key(scope: str) -> None:
    """Print a fresh key, and the line that admits it in an --api-keys-file (only its
    SHA-256 digest is stored there)."""
    import hashlib

    from .auth import new_key

    key = new_key()
    digest = hashlib.sha256(key.encode()).hexdigest()
    click.echo(f"key:  {key}")
    click.echo(f"file: {scope}:sha256:{digest}")
    click.echo(f"env:  JOBDECK_API_KEYS={scope}:{key}")
