"""`jobdeck console` / `jobdeck demo` as an operator runs them: a real process on a
pseudo-terminal, keys written to it, its screen output read back as text."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


class Terminal:
    """`jobdeck ARGS` on a pty of `size`; everything it writes is kept in `raw`."""

    def __init__(
        self, *args: str, env: dict[str, str] | None = None, size: tuple[int, int] = (120, 34)
    ) -> None:
        master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        environ = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color"}
        environ.pop("JOBDECK_URL", None)
        environ.pop("NO_COLOR", None)
        environ.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobdeck.core.cli", *args],
            cwd=ROOT,
            env=environ,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self._master = master
        self._lock = threading.Lock()
        self._raw = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._raw += chunk

    @property
    def raw(self) -> bytes:
        with self._lock:
            return bytes(self._raw)

    @property
    def text(self) -> str:
        """What was written, escape sequences removed."""
        return _ESCAPES.sub(b"", self.raw).decode(errors="replace")

    def wait_for(self, words: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while words not in self.text:
            if self.process.poll() is not None:
                time.sleep(0.1)  # the last of its output
                if words in self.text:
                    return
                raise AssertionError(
                    f"exited {self.process.returncode} before {words!r}:\n{self.text[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"no {words!r} within {timeout:g}s:\n{self.text[-3000:]}")
            time.sleep(0.05)

    def press(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def wait(self, timeout: float = 20.0) -> int:
        code = self.process.wait(timeout)
        self._reader.join(2)
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._reader.join(2)
        os.close(self._master)
