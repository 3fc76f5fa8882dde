"""Exponential backoff with jitter between attempts.

Jitter spreads the retries of many jobs that failed together (a dependency went down) so they
do not come back as one burst.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delay before attempt n+1 is `min(max_delay, base * factor**(n-1))`, shortened by up to
    `jitter` (a fraction) at random: with the defaults, 0.5-1 s, 1-2 s, 2-4 s, ..."""

    base: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.base < 0 or self.max_delay < 0:
            raise ValueError("retry policy: base and max_delay must be >= 0")
        if self.factor < 1:
            raise ValueError("retry policy: factor must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("retry policy: jitter must be between 0 and 1")

    def bounds(self, attempt: int) -> tuple[float, float]:
        """The (shortest, longest) delay after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.max_delay, self.base * self.factor ** max(0, attempt - 1))
        return ceiling * (1 - self.jitter), ceiling

    def delay(self, attempt: int) -> float:
        low, high = self.bounds(attempt)
        return random.uniform(low, high)
