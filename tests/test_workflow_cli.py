"""Workflows at the shell: `jobdeck submit --after/--on-parent-failure/--expires`, `job show`
listing a job's parents and children, `job wait` exiting 2 for a job that expired, and
`stats` counting waiting and expired jobs."""

from __future__ import annotations

import asyncio
import json

import pytest
from click.testing import CliRunner, Result

from jobdeck.core import JobService
from jobdeck.core.cli import main

pytestmark = pytest.mark.timeout(60)


def _cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"JOBDECK_URL": None})


@pytest.fixture
def where(redis_url: str, prefix: str) -> list[str]:
    return ["--url", redis_url, "--queue", "cli", "--prefix", prefix]


def test_a_workflow_from_the_shell(where: list[str]) -> None:
    parent = _cli("submit", "step", *where, "--delay", "600").output.strip()
    child = _cli(
        "submit", "step", *where, "--after", parent, "--on-parent-failure", "run"
    ).output.strip()
    late = _cli("submit", "step", *where, "--expires", "0.05").output.strip()

    shown = _cli("job", "show", child, *where)
    assert shown.exit_code == 0, shown.output
    assert "status      waiting" in shown.output
    assert f"parents     {parent} scheduled" in shown.output
    assert "waiting     for 1 of 1 parents" in shown.output
    assert "on failure  of a parent: run" in shown.output
    shown = _cli("job", "show", parent, *where, "--json")
    data = json.loads(shown.output)
    assert data["children"] == [{"id": child, "status": "waiting"}]
    assert data["children_total"] == 1 and data["parents"] == []

    async def claim_once(url: str, prefix: str) -> None:
        async with JobService(url, "cli", prefix) as service:
            await asyncio.sleep(0.1)
            await service.backend.claim("w", 10, 5.0)  # the claim that finds it expired

    asyncio.run(claim_once(where[1], where[5]))
    waited = _cli("job", "wait", late, *where, "--timeout", "5")
    assert waited.exit_code == 2, waited.output
    assert f"job {late} expired before it started" in waited.output

    stats = json.loads(_cli("stats", *where, "--json").output)
    assert stats["depths"]["waiting"] == 1 and stats["depths"]["expired"] == 1
    assert "waiting=1" in _cli("stats", *where).output


def test_bad_workflow_flags_are_one_line_errors(where: list[str]) -> None:
    refused = _cli("submit", "step", *where, "--after", "nope")
    assert refused.exit_code != 0 and "after: no job 'nope' on queue 'cli'" in refused.output
    refused = _cli("submit", "step", *where, "--expires", "-3")
    assert refused.exit_code != 0 and "expires: must be a positive" in refused.output
    assert "Traceback" not in refused.output
