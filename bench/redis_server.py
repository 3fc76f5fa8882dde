"""A private, throwaway redis-server for the benchmark (never the shared one on 6379).

Persistence is off (`--save "" --appendonly no`) so no peer pays for RDB/AOF writes, and the
server runs in its own temporary directory so nothing is left behind.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """Start with `start()`, stop with `stop()` (or use as a context manager)."""

    def __init__(self, label: str, executable: str = "redis-server", port: int = 0) -> None:
        self.label = label
        self.executable = shutil.which(executable) or executable
        self.fixed_port = port  # 0: a free port the kernel picks (a fixed one is not retried)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir: Path | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def version(self) -> str:
        out = subprocess.run([self.executable, "--version"], capture_output=True, text=True,
                             check=False).stdout
        for part in out.split():
            if part.startswith("v="):
                return part[2:]
        return out.strip()

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.dir = Path(tempfile.mkdtemp(prefix=f"bench-redis-{self.label}-"))
        for _attempt in range(1 if self.fixed_port else 5):  # a free port can be taken
            self.port = self.fixed_port or free_port()  # between free_port() and bind
            self.proc = subprocess.Popen(
                [self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.dir),
                 "--logfile", str(self.dir / "redis.log"), "--daemonize", "no"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if _ping(self.port):
                    return self
                time.sleep(0.05)
            self.stop()
            self.dir.mkdir(exist_ok=True)
        raise RuntimeError(f"could not start {self.executable} ({self.label})")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
