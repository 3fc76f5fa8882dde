"""`jobdeck.core` with none of the web packages installed: it imports, runs a job, and the
CLI simply lacks `serve`. And the web package itself never reaches below the service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ..test_imports import IMPORT_ALL, RUN_A_JOB, python

pytestmark = pytest.mark.timeout(60)
WEB = Path(__file__).resolve().parents[2] / "web"

BLOCK_WEB = """
import importlib.abc, sys

BLOCKED = ("fastapi", "starlette", "uvicorn", "prometheus_client", "pydantic", "httpx", "flask")

class BlockWeb(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, BlockWeb())
"""


def test_core_runs_without_the_web_extra() -> None:
    done = python(
        [
            BLOCK_WEB,
            IMPORT_ALL,
            RUN_A_JOB,
            """
        asyncio.run(run_a_job("memory://no-web", "imports"))
        from click.testing import CliRunner
        from jobdeck.core.cli import main
        result = CliRunner().invoke(main, ["--help"])
        assert result.exit_code == 0, result.output
        assert "stats" in result.output and " serve " not in result.output, result.output
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not loaded, loaded
        print("ok")
        """,
        ]
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_web_never_talks_to_redis_directly() -> None:
    """Routes use the service's public API: no redis client, no backend internals."""
    problems = []
    for path in sorted(WEB.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "backend":
                problems.append(f"{path.name}:{node.lineno} .backend")
            if isinstance(node, ast.ImportFrom) and node.module:
                name = node.module
            elif isinstance(node, ast.Import):
                name = node.names[0].name
            else:
                continue
            if name.startswith(("redis.asyncio", "jobdeck.core.backend")) or name == "redis":
                problems.append(f"{path.name}: {name}")
    assert problems == []
