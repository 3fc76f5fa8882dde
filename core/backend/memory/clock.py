"""The memory engine's clock: `time.time()` in integer milliseconds, like the scripts' `NOW`.

One function in one place, so a test can freeze or move time for the whole engine.
"""

from __future__ import annotations

import time

__all__ = ["fmt_s", "now_ms"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def fmt_s(ms: float) -> str:
    """Seconds as the scripts store them (`"%.3f"`)."""
    return f"{ms / 1000:.3f}"
