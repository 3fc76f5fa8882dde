#!/usr/bin/env python3
"""Memory of the long history of one queue in Redis, per day and at its fullest.

    python bench/history_memory.py

The scripts keep, per kind (submitted, completed, failed), one hash per hour holding that
hour's minutes (`hm:<kind>:<hour>`, fields 0-59, kept 25 h) and one per day holding its hours
(`hh:<kind>:<day>`, fields 0-23, kept 31 days), and one hash of counts per job name (`names`,
at most ~200 fields). This fills them as a queue busy in every minute of the last 25 hours and
every hour of the last 31 days leaves them (counts up to 7 digits, 200 job names of 40
characters), on a private redis-server with its default encodings, through the scripts' own
helper (one real submit, claim and finish first, to check the key names and shapes match),
and reads MEMORY USAGE of every key. "Per day" is what one more day of activity adds before
the oldest expires: 72 minute hashes and the day's 3 hour hashes.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402
from jobdeck.core import JobService  # noqa: E402
from jobdeck.core.keys import key_prefix  # noqa: E402

KINDS = ("s", "c", "f")


async def measure(url: str, version: str) -> None:
    prefix, queue = "histmem", "q"
    p = key_prefix(prefix, queue)
    async with JobService(url, queue=queue, prefix=prefix) as service:
        service.register_handler("warmup", lambda: None)
        await service.start_workers(1)
        await service.submit_job("warmup")  # the real scripts write the first fields
        await asyncio.sleep(1.0)
        await service.stop_workers()
        client = service.backend.client  # type: ignore[attr-defined]
        real = sorted([k.decode() async for k in client.scan_iter(match=p + "h[mh]:*")])
        assert real and all(k.split(":")[-2] in KINDS for k in real), real
        now = int(time.time())
        hour, day = now // 3600, now // 86400
        rng = random.Random(7)
        pipe = client.pipeline(transaction=False)
        for kind in KINDS:
            for h in range(hour - 24, hour + 1):
                pipe.hset(
                    f"{p}hm:{kind}:{h}", mapping={m: rng.randint(1, 999_999) for m in range(60)}
                )
                pipe.expireat(f"{p}hm:{kind}:{h}", (h + 25) * 3600)
            for d in range(day - 30, day + 1):
                pipe.hset(
                    f"{p}hh:{kind}:{d}", mapping={h: rng.randint(1, 9_999_999) for h in range(24)}
                )
                pipe.expireat(f"{p}hh:{kind}:{d}", (d + 31) * 86400)
        names = {
            f"{kind}:{'job_name_' + str(n).zfill(31)}": rng.randint(1, 9_999_999)
            for n in range(100)
            for kind in "cf"
        }
        pipe.hset(f"{p}names", mapping=names)
        await pipe.execute()
        sizes: dict[str, list[int]] = {"hm": [], "hh": [], "names": []}
        async for key in client.scan_iter(match=p + "*"):
            name = key.decode()[len(p) :]
            group = name.split(":")[0]
            if group in sizes:
                sizes[group].append(int(await client.memory_usage(key, samples=0)))
        listpack = (await client.config_get("hash-max-listpack-entries"))[
            "hash-max-listpack-entries"
        ]
        encodings = {
            group: (await client.object("encoding", f"{p}{sample}")).decode()
            for group, sample in (("hm", f"hm:c:{hour}"), ("hh", f"hh:c:{day}"), ("names", "names"))
        }
    kib = lambda n: f"{n / 1024:,.1f} KiB"  # noqa: E731
    total = sum(sum(v) for v in sizes.values())
    per_minute_hash = sum(sizes["hm"]) / len(sizes["hm"])
    per_hour_hash = sum(sizes["hh"]) / len(sizes["hh"])
    print(
        f"redis {version}; keys: {len(sizes['hm'])} minute hashes, {len(sizes['hh'])} hour "
        f"hashes, 1 names hash; encodings {encodings} (hash-max-listpack-entries {listpack})"
    )
    print(f"minutes kept a day:  {kib(sum(sizes['hm']))} ({per_minute_hash:.0f} B a hash of 60)")
    print(f"hours kept 30 days:  {kib(sum(sizes['hh']))} ({per_hour_hash:.0f} B a hash of 24)")
    print(f"names (200 fields):  {kib(sum(sizes['names']))}")
    print(f"a queue at its fullest: {kib(total)}")
    print(
        f"a day of activity adds: {kib(72 * per_minute_hash + 3 * per_hour_hash)} "
        "(72 minute hashes, 3 hour hashes), the same expiring after 25 h and 31 days"
    )


def main() -> None:
    with RedisServer("history-memory") as server:
        asyncio.run(measure(server.url, server.version()))


if __name__ == "__main__":
    main()
