"""Child processes of a benchmark run: the peer's client (our line protocol) and the peer's
worker (its own CLI). Both get their own process group so a multi-process worker (rq
worker-pool, dramatiq, celery) is stopped completely, and only what we started is signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from bench.peers.base import REPLY_PREFIX


class ChildError(RuntimeError):
    """A client or worker died, timed out or reported an error."""


def _log_tail(path: Path, lines: int = 12) -> str:
    """The last line of a child's log first (usually the exception), then the lines before it,
    so a one-line summary of the error is meaningful."""
    try:
        tail = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()][-lines:]
    except OSError:
        return ""
    return "\n".join(tail[-1:] + tail[:-1]) + f"\n(log: {path})"


def stop_group(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """SIGTERM the process group we created, then SIGKILL what is left after `grace` s."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    # the leader may be gone while children (forked workers) linger: kill the whole group
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


class Worker:
    """The peer's worker CLI as a subprocess, output to a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> None:
        self.argv = argv
        self.log = log
        self._log_file: IO[bytes] = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.started_at = time.time()
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self._log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    def check_alive(self) -> None:
        code = self.proc.poll()
        if code is not None:
            raise ChildError(f"worker exited with {code}: {_log_tail(self.log)}")

    def stop(self) -> None:
        stop_group(self.proc, grace=1.0)  # results are in; no need to wait politely
        self._log_file.close()


class Client:
    """`python -m bench.peers.<module> client`: one request line in, one reply line out."""

    def __init__(self, module: str, url: str, variant: str, env: dict[str, str], cwd: Path,
                 log: Path, python: str = sys.executable, ready_timeout: float = 60.0) -> None:
        self.log = log
        self._log_file: IO[bytes] = open(log, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [python, "-m", f"bench.peers.{module}", "client", "--url", url, "--variant", variant],
            env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._log_file, text=True, bufsize=1, start_new_session=True,
        )
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next(ready_timeout)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(REPLY_PREFIX):
                self._replies.put(json.loads(line[len(REPLY_PREFIX):]))
        self._replies.put(None)  # EOF: the client exited

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise ChildError(f"client gave no reply within {timeout:.0f}s") from None
        if reply is None:
            self.proc.wait(timeout=5)
            raise ChildError(f"client exited with {self.proc.returncode}: {_log_tail(self.log)}")
        if reply.get("ok") is False:
            raise ChildError(f"client error: {reply.get('error')}\n{reply.get('trace', '')}")
        return reply

    def request(self, timeout: float, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return self._next(timeout)

    def close(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        stop_group(self.proc, grace=1.0)
        self._log_file.close()
