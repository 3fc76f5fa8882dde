"""The RQ job functions (RQ imports them by dotted path inside the worker, in the forked work
horse for the default Worker class)."""

from __future__ import annotations

import time

from bench.peers.base import SLEEP_SECONDS
from bench.peers.completion import mark_done, mark_started


def noop() -> None:
    mark_done()


def sleep() -> None:
    mark_started()
    time.sleep(SLEEP_SECONDS)
    mark_done()


def probe(index: int) -> None:
    mark_done(index)
