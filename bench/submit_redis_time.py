#!/usr/bin/env python3
"""Redis time of one submit script call, one at a time against pipelined.

    python bench/submit_redis_time.py [--calls 5000]

Starts a private redis-server (bench/redis_server.py) and reads `INFO commandstats` after:
1. `--calls` submits through `JobService.submit_job`, one round trip each (what the
   `redis-time` scenario's submit side does);
2. the same script with the same kind of arguments, `--calls` at a time in one pipeline;
3. an empty script with those arguments (the fixed cost of any script call);
4. the submit script as a Redis 7 `FUNCTION` library, whose helpers Redis builds once when the
   library loads instead of on every call, against the same script by `EVALSHA`, both one
   round trip each from one client, in interleaved rounds (`--rounds`).
Each line gives µs per call in Redis and the part spent in the commands the script ran: the
difference between 1 and 2 is what a call that arrives alone costs Redis beyond the work.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402


def _per_call(client: object, calls: int) -> tuple[float, float]:
    stats = client.info("commandstats")  # type: ignore[attr-defined]
    script = stats["cmdstat_evalsha"]["usec"]
    inner = sum(
        v["usec"]
        for k, v in stats.items()
        if k not in ("cmdstat_evalsha", "cmdstat_config|resetstat")
    )
    return script / calls, inner / calls


def _submit_args(job_id: str) -> list[str | int]:
    """The submit script's keys and arguments for one normal-priority job, as the service
    sends them (key prefix, log cap, one job: id, name, priority, delay, no unique key, no
    group, two fields)."""
    return [1, "jobdeck:{q}:pending", "jobdeck:{q}:", "50000", "1", job_id, "noop", "1", "0",
            "", "0", "", "2", "name", "noop"]  # fmt: skip


def _function_library(name: str) -> str:
    """The script `name` as a FUNCTION library: `_lib.lua`'s helpers at the library's top
    level, built once at load; the values the prelude computes per call (prefix, clock) set at
    the start of each call by `begin`, since a library may not call Redis while it loads."""
    from importlib.resources import files

    from jobdeck.core.backend.redis import scripts

    lua = files("jobdeck.core.backend").joinpath("lua")
    body = lua.joinpath(f"{name}.lua").read_text()
    per_call = (
        "local P =",
        "local EVENTS_MAXLEN",
        "local t =",
        "local NOW =",
        "local SEC =",
        "local NOW_S",
    )
    helpers = [
        line
        for line in scripts._prelude_for(scripts.library_source(), body)
        .replace("local function fmt_s(ms)\n  return string.format('%.3f', ms / 1000)\nend", "")
        .splitlines()
        if not line.startswith(per_call)
    ]
    return scripts._wire_codes(
        "\n".join(
            [
                "#!lua name=jobdeck_bench",
                "local P, EVENTS_MAXLEN, NOW, SEC, NOW_S",
                "local function fmt_s(ms) return string.format('%.3f', ms / 1000) end",
                "local function begin(ARGV)",
                "  P, EVENTS_MAXLEN = ARGV[1], ARGV[2]",
                "  local t = redis.call('TIME')",
                "  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)",
                "  SEC = tonumber(t[1])",
                "  NOW_S = fmt_s(NOW)",
                "end",
                *helpers,
                f"redis.register_function('{name}', function(KEYS, ARGV)",
                "begin(ARGV)",
                body,
                "end)",
            ]
        )
    )


def _script_vs_function(client: object, calls: int, rounds: int) -> dict[str, list[float]]:
    """µs per call in Redis (commandstats) of the submit script by EVALSHA and by FCALL, one
    call per round trip, alternating rounds on a flushed server."""
    from jobdeck.core.backend.redis.scripts import script_source

    source, library = script_source("submit"), _function_library("submit")
    seen: dict[str, list[float]] = {"evalsha": [], "fcall": []}
    for round_no in range(rounds):
        for command in seen:
            client.flushall()  # type: ignore[attr-defined]
            sha = client.script_load(source)  # type: ignore[attr-defined]
            client.execute_command("FUNCTION", "LOAD", "REPLACE", library)  # type: ignore[attr-defined]
            client.config_resetstat()  # type: ignore[attr-defined]
            for i in range(calls):
                target = (sha,) if command == "evalsha" else ("submit",)
                client.execute_command(  # type: ignore[attr-defined]
                    command.upper(), *target, *_submit_args(f"{command}{round_no}-{i:011d}")
                )
            stats = client.info("commandstats")  # type: ignore[attr-defined]
            seen[command].append(stats[f"cmdstat_{command}"]["usec"] / calls)
    return seen


def main() -> None:
    import redis

    from jobdeck.core import JobService
    from jobdeck.core.backend.redis.scripts import script_source

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of EVALSHA against FCALL")
    options = parser.parse_args()
    calls = options.calls
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
                pipe.evalsha(sha, *_submit_args(f"pipelined{i:011d}"))
            pipe.execute()
            return _per_call(client, calls)

        together = pipelined(script_source("submit"))
        empty = pipelined("return 1")
        versus = _script_vs_function(client, calls, options.rounds)
    for label, (script, inner) in (
        ("submit_job, one round trip each", alone),
        ("submit script, pipelined", together),
        ("empty script, pipelined", empty),
    ):
        print(f"{label:34} {script:6.2f} µs per call, {inner:5.2f} in its commands")
    for command, figures in versus.items():
        rounds = ", ".join(f"{f:.2f}" for f in figures)
        print(
            f"submit by {command:8}, one at a time: {statistics.median(figures):6.2f} µs per call "
            f"(median; rounds {rounds})"
        )


if __name__ == "__main__":
    main()
