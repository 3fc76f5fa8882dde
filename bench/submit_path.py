#!/usr/bin/env python3
"""The submit path's cost in this process: N jobs submitted one by one (`submit_job`), then
N in bulk (`submit_jobs`), against a private redis-server this script starts, and the same
on `memory://` (no network: the Python alone).

    python bench/submit_path.py [--jobs 20000] [--tree DIR]

Prints, per row, jobs/s (wall) and this process's CPU µs per job. `--tree DIR` runs the
jobdeck of another checkout (its `core/`), so two versions of the submit path can be timed
against each other, A then B, on the same machine; a tool that times whole processes in
alternation (`/usr/bin/time` in a loop, or hyperfine) gives the pair's ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _use_tree(tree: Path) -> None:
    """Import `jobdeck.core` from `tree` instead of the installed one: a `jobdeck` package
    whose `core` is the tree's, found on sys.path before the installed package's finder."""
    shim = Path(tempfile.mkdtemp(prefix="jobdeck-tree-"))
    (shim / "jobdeck").mkdir()
    (shim / "jobdeck" / "__init__.py").write_text("")
    for part in ("core", "console", "web"):
        if (tree / part).is_dir():
            (shim / "jobdeck" / part).symlink_to(tree / part)
    sys.path.insert(0, str(shim))


async def _rows(url: str, n: int, label: str) -> list[str]:
    from jobdeck.core import JobService

    rows = []
    async with JobService(url, queue="submit", prefix=f"sp{time.monotonic_ns() % 10**8}") as svc:
        for _ in range(100):  # connected, scripts loaded, ids drawn
            await svc.submit_job("noop", (1, "a"))
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            await svc.submit_job("noop", (i, "a"))
        rows.append(_row(f"{label} one by one", n, wall, cpu))
        specs = [{"name": "noop", "args": (i, "a")} for i in range(n)]
        wall, cpu = time.perf_counter(), time.process_time()
        await svc.submit_jobs(specs)
        rows.append(_row(f"{label} bulk", n, wall, cpu))
    return rows


def _row(label: str, n: int, wall: float, cpu: float) -> str:
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return f"{label:24s} {n / wall:10,.0f} jobs/s {cpu * 1e6 / n:8.1f} µs CPU/job"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--tree", type=Path, help="a jobdeck checkout whose core/ to run")
    opts = parser.parse_args()
    if opts.tree is not None:
        _use_tree(opts.tree.resolve())
    sys.path.insert(1, str(ROOT))
    import jobdeck.core
    from bench.redis_server import RedisServer

    print(f"jobdeck.core from {Path(jobdeck.core.__file__).resolve().parent}")
    with RedisServer("submit-path") as server:
        rows = asyncio.run(_rows(server.url, opts.jobs, "redis"))
    rows += asyncio.run(_rows("memory://submit-path", opts.jobs, "memory"))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
