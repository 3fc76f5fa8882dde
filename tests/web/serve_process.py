"""`jobdeck serve` as a real subprocess on a free port, for tests that need real HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"(?:at|API) +http://(\S+?):(\d+)/api/v1")


class ServeProcess:
    def __init__(
        self, *args: str, env: dict[str, str] | None = None, stdout: Path | None = None
    ) -> None:
        self.stdout = stdout  # a file for the server's stdout (the access log), else none
        self.args = [sys.executable, "-m", "jobdeck.core.cli", "serve", "--port", "0", *args]
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self.banner = ""

    def start(self, timeout: float = 30.0) -> ServeProcess:
        self.process = subprocess.Popen(
            self.args,
            env=self.env,
            cwd=ROOT,
            stdout=self.stdout.open("wb") if self.stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        lines = []
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            lines.append(line)
            match = _LISTENING.search(line)
            if match:
                self.banner = "".join(lines).strip()
                self.base_url = f"http://{match.group(1)}:{match.group(2)}"
                return self
        self.stop()
        raise AssertionError("jobdeck serve did not start: " + "".join(lines))

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return self.process.returncode

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
