#!/usr/bin/env python3
"""Redis time of one submit script call, one at a time against pipelined.

    python bench/submit_redis_time.py [--calls 5000]

Starts a private redis-server (bench/redis_server.py) and reads `INFO commandstats` after:
1. `--calls` submits through `JobService.submit_job`, one round trip each (what the
   `redis-time` scenario's submit side does);
2. the same script with the same kind of arguments, `--calls` at a time in one pipeline;
3. an empty script with those arguments (the fixed cost of any script call).
Each line gives EVALSHA µs per call and the part spent in the commands the script ran: the
difference between 1 and 2 is what a call that arrives alone costs Redis beyond the work.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402


def _per_call(client: object, calls: int) -> tuple[float, float]:
    stats = client.info("commandstats")  # type: ignore[attr-defined]
    script = stats["cmdstat_evalsha"]["usec"]
    inner = sum(v["usec"] for k, v in stats.items() if k not in ("cmdstat_evalsha",
                                                                 "cmdstat_config|resetstat"))
    return script / calls, inner / calls


def main() -> None:
    import redis

    from jobdeck.core import JobService
    from jobdeck.core.backend.redis.scripts import script_source

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    calls = parser.parse_args().calls
    with RedisServer("submit-time") as server:
        client = redis.Redis(port=server.port)

        async def one_at_a_time() -> None:
            service = JobService(url=server.url, queue="q", prefix="jobdeck")
            await service.initialize()
            await service.submit_job("noop")  # connect and load the scripts first
            client.config_resetstat()
            for _ in range(calls):
                await service.submit_job("noop")
            await service.close()

        asyncio.run(one_at_a_time())
        alone = _per_call(client, calls)

        def pipelined(source: str) -> tuple[float, float]:
            sha = client.script_load(source)
            client.config_resetstat()
            pipe = client.pipeline(transaction=False)
            for i in range(calls):
                pipe.evalsha(sha, 1, "jobdeck:{q}:pending", "jobdeck:{q}:", "50000", "1",
                             f"pipelined{i:011d}", "noop", "1", "0", "", "0", "2", "name",
                             "noop")
            pipe.execute()
            return _per_call(client, calls)

        together = pipelined(script_source("submit"))
        empty = pipelined("return 1")
    for label, (script, inner) in (("submit_job, one round trip each", alone),
                                   ("submit script, pipelined", together),
                                   ("empty script, pipelined", empty)):
        print(f"{label:34} {script:6.2f} µs per call, {inner:5.2f} in its commands")


if __name__ == "__main__":
    main()
