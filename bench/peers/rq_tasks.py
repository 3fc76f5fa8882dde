"""The RQ job functions (RQ imports them by dotted path inside the worker, in the forked work
horse for the default Worker class)."""

from __future__ import annotations

import time

from bench.peers.base import SLEEP_SECONDS, env_variant
from bench.peers.completion import mark_done, mark_started, round_trip

# RQ's default Worker runs each job in a forked work horse that exits with os._exit right
# after it, so the probe's batch is sent before returning (the no-fork tuned row batches).
FLUSH = env_variant() == "default"


def noop() -> None:
    mark_done(flush=FLUSH)


def sleep() -> None:
    mark_started(flush=FLUSH)
    time.sleep(SLEEP_SECONDS)
    mark_done(flush=FLUSH)


def probe(index: int) -> None:
    mark_done(index, flush=FLUSH)


def rt() -> None:
    round_trip()
    mark_done(flush=FLUSH)
