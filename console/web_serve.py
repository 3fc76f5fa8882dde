"""`jobdeck console --web`: the terminal console itself in a browser, through textual-serve.

Each browser tab gets its own `jobdeck console` process, run by textual-serve and drawn by
xterm.js. textual-serve has no login of its own: it is bound to localhost by default and
belongs behind the dashboard's auth, an SSH tunnel, or an authenticating proxy.
"""

from __future__ import annotations

import os
import shlex
import sys

import click

from jobdeck.core.cli.common import fail

__all__ = ["serve_console"]

WARNING = (
    "warning: the web console has no login of its own; anyone who can reach {where} can "
    "steer this queue. Keep it on localhost (or behind an authenticating proxy)."
)


def serve_console(
    url: str, queue: str, prefix: str, *, read_only: bool, host: str, port: int
) -> None:
    try:
        from textual_serve.server import Server
    except ImportError:
        fail('--web needs textual-serve: pip install "jobdeck[console-web]"')
    command = [sys.executable, "-m", "jobdeck.core.cli", "console", "--queue", queue]
    command += ["--prefix", prefix] + (["--read-only"] if read_only else [])
    # The URL (which may hold a password) goes by environment, never on a command line
    # that `ps` shows to every user of the machine.
    os.environ["JOBDECK_URL"] = url
    where = f"http://{host}:{port}"
    click.echo(WARNING.format(where=where), err=True)
    click.echo(f"jobdeck console on the web: {where}  (Ctrl+C stops)", err=True)
    Server(shlex.join(command), host=host, port=port, title="jobdeck console").serve()
