"""examples/quickstart.py, the README's first example, runs as a new user runs it: on
memory:// with nothing else, and against a Redis server (a private one, started here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .redis_server import RedisServer

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "quickstart.py"
EXPECTED = (
    "add(2, 3) = 5\n"
    "add(2, 'x') failed: TypeError unsupported operand type(s) for +: 'int' and 'str'\n"
    "add(add(1, 2), 10) = 13\n"
    "0+0 + 1+1 + 2+2 + 3+3 = 12\n"
)


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "JOBDECK_URL"}
    return {**env, **extra}


def test_the_quickstart_runs_on_memory() -> None:
    done = _run(_env())
    assert (done.returncode, done.stdout) == (0, EXPECTED), done.stderr
    assert "Traceback" not in done.stderr


def test_the_quickstart_runs_on_redis() -> None:
    server = RedisServer().start()
    try:
        done = _run(_env(JOBDECK_URL=server.url))
        assert (done.returncode, done.stdout) == (0, EXPECTED), done.stderr
        assert server.cli("EXISTS", "jobdeck:{default}:events") == "1"  # it ran there
    finally:
        server.stop()
