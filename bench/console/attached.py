"""A real `jobdeck console` attached to a queue for a long benchmark (a soak), observable
from outside: its resident memory, CPU and the bytes it wrote, read from /proc and its pty.

    from bench.console.attached import AttachedConsole

    with AttachedConsole(url, queue="soak", prefix="jobdeck") as console:
        console.open_history()          # `t` once: the time mode's history fills from now on
        ...                             # the soak's load
        console.rss_mb(), console.cpu_seconds(), console.bytes_written

    python bench/console/attached.py --url redis://127.0.0.1:6379/0 --queue soak --minutes 5

The console runs as an operator runs it: its own process on a pseudo-terminal (120x40), so
its memory is the process's and nothing of the benchmark's. A thread reads (and counts) what
it writes, as a terminal would; without a reader it would block on a full pty. `open_history`
presses `t` and then `esc` once the time mode is up: the console keeps no history until the
past is first asked for, so a soak that means to bound it must ask.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from types import TracebackType

__all__ = ["AttachedConsole"]


class AttachedConsole:
    def __init__(
        self,
        url: str,
        *,
        queue: str = "default",
        prefix: str = "jobdeck",
        size: tuple[int, int] = (120, 40),
        extra: tuple[str, ...] = (),
    ) -> None:
        self.argv = [
            sys.executable, "-c", "from jobdeck.core.cli import main; main()",
            "console", "--url", url, "--queue", queue, "--prefix", prefix, *extra,
        ]  # fmt: skip
        self.size = size
        self.bytes_written = 0
        self._tail = bytearray()  # the last 64 KB it wrote, to look for words in
        self._lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None

    # -- life ------------------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> AttachedConsole:
        master, slave = pty.openpty()
        columns, rows = self.size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("JOBDECK_URL", None)
        self.proc = subprocess.Popen(
            self.argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self._master = master
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("connected", timeout=timeout)
        return self

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.bytes_written += len(chunk)
                self._tail += chunk
                del self._tail[:-65536]

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.write(self._master, b"q")
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self._master)

    def __enter__(self) -> AttachedConsole:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- looking at it ---------------------------------------------------------------------
    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_mb(self) -> float:
        """Resident memory of the console process (VmRSS)."""
        with open(f"/proc/{self.pid}/status") as file:
            for line in file:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        """User + system CPU the console has used so far."""
        with open(f"/proc/{self.pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def press(self, keys: str) -> None:
        os.write(self._master, keys.encode())

    def wait_for(self, *words: str, timeout: float = 20.0) -> str:
        """Until one of `words` appears in what it wrote (escape sequences and all)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for word in words:
                    if word.encode() in self._tail:
                        return word
            if not self.alive():
                raise RuntimeError(f"the console exited ({self.proc and self.proc.returncode})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the console showed none of {words!r} in {timeout:g} s")
            time.sleep(0.05)

    def open_history(self, timeout: float = 120.0) -> None:
        """`t`: the console reads the event log and keeps its history from then on; `esc`
        back to the live view once the time mode's bar is up."""
        with self._lock:
            self._tail.clear()
        self.press("t")
        if self.wait_for("TIME", "event log is empty", timeout=timeout) == "TIME":
            self.press("\x1b")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", default="default")
    parser.add_argument("--prefix", default="jobdeck")
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    args = parser.parse_args()
    with AttachedConsole(args.url, queue=args.queue, prefix=args.prefix) as console:
        console.open_history()
        started = time.monotonic()
        while time.monotonic() - started < args.minutes * 60:
            sample = {
                "minute": round((time.monotonic() - started) / 60, 1),
                "rss_mb": round(console.rss_mb(), 1),
                "cpu_s": round(console.cpu_seconds(), 1),
                "bytes_written": console.bytes_written,
            }
            print(json.dumps(sample), flush=True)
            time.sleep(args.every)


if __name__ == "__main__":
    main()
