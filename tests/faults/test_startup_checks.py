"""Scenario 13: startup checks. A worker warns clearly, at WARNING level, when Redis may
evict keys (maxmemory-policy other than noeviction) and when persistence is off; on a
noeviction server with an AOF it warns about neither.

Size: as asked. Two servers (risky and safe), one worker process on each.
"""

from __future__ import annotations

import time

import pytest

from ..worker_process import WorkerProcess
from .conftest import Harness

pytestmark = pytest.mark.timeout(60)

EVICTION = "maxmemory-policy is 'allkeys-lru'"
PERSISTENCE = "persistence is off"


def _warnings(worker: WorkerProcess) -> list[str]:
    """The warnings a worker logged before it started; it must have started (a worker that
    never got that far has warned about nothing, which is no pass)."""
    worker.wait_registered(15)
    deadline = time.monotonic() + 10
    while " started: queue " not in worker.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert " started: queue " in worker.log(), worker.log()
    return [line for line in worker.log().splitlines() if " WARNING " in line]


def test_worker_warns_about_risky_redis_settings(make_harness, figure) -> None:
    risky: Harness = make_harness()  # no AOF, no RDB snapshots
    risky.r.config_set("maxmemory-policy", "allkeys-lru")
    safe: Harness = make_harness(appendonly=True)
    assert safe.r.config_get("maxmemory-policy")["maxmemory-policy"] == "noeviction"
    on_risky = risky.worker(1, worker_id="risky", wait=False)
    on_safe = safe.worker(1, worker_id="safe", wait=False)
    risky_warnings, safe_warnings = _warnings(on_risky), _warnings(on_safe)
    found = {
        "eviction": any(EVICTION in w and "noeviction" in w for w in risky_warnings),
        "persistence": any(PERSISTENCE in w and "appendonly" in w for w in risky_warnings),
    }
    figure(
        "13 startup checks",
        f"eviction warning: {found['eviction']}, persistence warning: {found['persistence']}; "
        f"warnings on a safe server: {len(safe_warnings)}",
        "warns on maxmemory-policy != noeviction and on persistence off",
        "2 servers, 1 worker each",
    )
    assert found == {"eviction": True, "persistence": True}, risky_warnings
    assert safe_warnings == [], safe_warnings
