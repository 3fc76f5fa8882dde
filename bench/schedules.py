"""What the scheduler costs: Redis work per tick, and one process handling 10,000 schedules.

    python -m bench.schedules            # ~4 minutes on a private redis-server

1. Per tick: one 1-second schedule and N scheduler loops (1 and 3) for 20 s; Redis's own
   INFO commandstats give the script calls and the server's microseconds per fired tick.
2. 10,000 schedules (every 60 s, then cron `* * * * *` in Europe/Berlin: all of them fall
   due in the same second once a minute, the worst case for one process) and one scheduler
   loop for 70 s each: the process's CPU time (time.process_time) over wall time, how long
   the burst of 10,000 fires takes, and Redis's microseconds per fire.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis

from jobdeck.core import JobService
from jobdeck.core.events import Events
from jobdeck.core.schedules import Scheduler

from .redis_server import RedisServer


async def commandstats(url: str) -> dict[str, dict[str, float]]:
    client = aioredis.Redis.from_url(url)
    try:
        stats: dict[str, Any] = await client.info("commandstats")
    finally:
        await client.aclose()
    return {k.removeprefix("cmdstat_"): v for k, v in stats.items()}


def delta(before: dict, after: dict) -> dict[str, float]:
    """Script calls (round trips) and their server time, and the commands run inside them.
    A script's usec already covers the commands it runs, so only script usec is summed."""
    out = {"scripts": 0.0, "script_usec": 0.0, "inner_commands": 0.0}
    for name, now in after.items():
        was = before.get(name, {"calls": 0, "usec": 0})
        calls = now["calls"] - was["calls"]
        if name in ("evalsha", "eval", "evalsha_ro", "eval_ro"):
            out["scripts"] += calls
            out["script_usec"] += now["usec"] - was["usec"]
        elif name not in ("info", "ping", "client|setname", "client|setinfo", "hello"):
            out["inner_commands"] += calls
    return out


async def per_tick(url: str, loops: int, seconds: float = 20.0) -> dict[str, float]:
    prefix = f"bench{loops}"
    service = JobService(url, queue="q", prefix=prefix)
    await service.add_schedule("tick", "noop", every=timedelta(seconds=1))
    schedulers = [Scheduler(service.backend) for _ in range(loops)]
    before = await commandstats(url)
    tasks = [asyncio.create_task(s.run()) for s in schedulers]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    after = await commandstats(url)
    events = await service.backend.read_events("0-0", 100_000, 0.01)
    fired = sum(1 for e in events if e.type == Events.SCHEDULE_FIRED)
    await service.close()
    d = delta(before, after)
    return {
        "loops": loops,
        "ticks": fired,
        "script_calls/tick": d["scripts"] / fired,
        "commands_in_scripts/tick": d["inner_commands"] / fired,
        "redis_usec/tick": d["script_usec"] / fired,
    }


async def ten_thousand(
    url: str, timing: dict[str, Any], count: int = 10_000, seconds: float = 70.0
) -> dict[str, Any]:
    service = JobService(url, queue="big", prefix=f"bench10k{len(str(timing))}")
    await service.initialize()
    from jobdeck.core.schedules import new_schedule
    from jobdeck.core.schedules.scheduler import put_spec

    for i in range(count):
        await put_spec(service.backend, new_schedule(f"s{i}", "noop", **timing))
    scheduler = Scheduler(service.backend)
    before = await commandstats(url)
    cpu0, wall0 = time.process_time(), time.monotonic()
    task = asyncio.create_task(scheduler.run())
    burst: list[float] = []
    while time.monotonic() - wall0 < seconds:
        await asyncio.sleep(0.05)
        if scheduler.fired and len(burst) == 0:
            burst.append(time.monotonic())
        if scheduler.fired >= count and len(burst) == 1:
            burst.append(time.monotonic())
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    after = await commandstats(url)
    d = delta(before, after)
    await service.close()
    return {
        "timing": timing,
        "schedules": count,
        "fired": scheduler.fired,
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_percent": 100 * cpu / wall,
        "burst_s": (burst[1] - burst[0]) if len(burst) == 2 else float("nan"),
        "redis_usec_per_fire": d["script_usec"] / max(1, scheduler.fired),
        "script_calls": d["scripts"],
    }


async def main() -> None:
    with RedisServer("schedules") as server:
        for loops in (1, 3):
            print(await per_tick(server.url, loops))
        print(await ten_thousand(server.url, {"every": 60}))
        print(await ten_thousand(server.url, {"cron": "* * * * *", "timezone": "Europe/Berlin"}))


if __name__ == "__main__":
    asyncio.run(main())
