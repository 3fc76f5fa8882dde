"""`jobdeck console --web`: the console served to browsers by textual-serve."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest

from ..redis_server import RedisServer, free_port
from ..worker_process import ROOT

pytestmark = pytest.mark.slow


def test_console_web_serves_the_console_on_localhost_with_a_warning(
    redis_server: RedisServer,
) -> None:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobdeck.core.cli",
            "console",
            "--web",
            "--port",
            str(port),
            "--url",
            redis_server.url,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/", timeout=2) as reply:
                    page = reply.read().decode()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert "jobdeck console" in page and "ws://localhost" in page
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "no login of its own" in err
    assert redis_server.url not in err  # the URL travels by environment, not on a command line


def test_console_web_needs_a_url() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jobdeck.core.cli", "console", "--web"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0 and "--web needs --url" in result.stderr
    assert "Traceback" not in result.stderr
