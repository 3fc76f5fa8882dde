"""`python -m bench.profiled_worker OUT ARGS...`: runs `jobdeck ARGS...` with a profiler that
SIGUSR1 switches on and SIGUSR2 switches off and writes to OUT (pstats format).

The profiler counts the main thread's CPU time (`time.thread_time`), not wall time: on a
shared machine a process waits for a core, and a wall-clock profile charges that wait to
whatever line happened to be running (a socket write that woke Redis, mostly).
"""

from __future__ import annotations

import cProfile
import signal
import sys
import time
from typing import Any


def main() -> None:
    out, argv = sys.argv[1], sys.argv[2:]
    profiler = cProfile.Profile(time.thread_time)

    def start(*_: Any) -> None:
        profiler.enable()

    def stop(*_: Any) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    sys.argv = ["jobdeck", *argv]
    from jobdeck.core.cli import main as jobdeck

    jobdeck()


if __name__ == "__main__":
    main()
