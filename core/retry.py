"""How a failed attempt is retried: when (a backoff policy), and whether at all (rules per
handler, and a handler's own word: `raise Retry(delay=30)`, `raise Fail("reason")`).

Jitter spreads the retries of many jobs that failed together (a dependency went down) so they
do not come back as one burst.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from .models import MAX_DELAY

__all__ = ["Fail", "Retry", "RetryPolicy", "RetryRules", "exception_classes"]


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


class Retry(Exception):
    """Raised by a handler: run the job again, after `delay` seconds (a number or a
    `timedelta`; None: the retry policy's delay). The attempt counts like any failed one:
    with no retries left (`max_retries`) the job is dead-lettered, its error saying it asked
    for a retry. `retry_on`/`dont_retry_on` do not apply: the handler has decided."""

    def __init__(self, delay: float | timedelta | None = None, reason: str = "") -> None:
        self.delay = _check_delay(delay)
        self.reason = str(reason)
        super().__init__(self.describe())

    def describe(self) -> str:
        when = "after the retry policy's delay" if self.delay is None else f"in {self.delay:g}s"
        return f"retry {when}" + (f": {self.reason}" if self.reason else "")


class Fail(Exception):
    """Raised by a handler: the job fails for good now, dead-lettered with `reason` as its
    error's message, whatever retries it has left (a bad input no retry can fix)."""

    def __init__(self, reason: str = "") -> None:
        self.reason = str(reason)
        super().__init__(self.reason)


def _check_delay(delay: object) -> float | None:
    if delay is None:
        return None
    if isinstance(delay, timedelta):
        delay = delay.total_seconds()
    if isinstance(delay, bool) or not isinstance(delay, (int, float)):
        raise TypeError(f"Retry: delay: expected seconds or a timedelta, got {delay!r}")
    if not math.isfinite(delay) or delay < 0:
        raise ValueError(f"Retry: delay: must be >= 0 seconds, got {delay!r}")
    if delay > MAX_DELAY:
        raise ValueError(f"Retry: delay: at most {MAX_DELAY:.0f} seconds (10 years), got {delay:g}")
    return float(delay)


ExceptionClasses = tuple[type[BaseException], ...]


def exception_classes(field: str, value: object) -> ExceptionClasses:
    """`retry_on` / `dont_retry_on` as a tuple of exception classes: one class, or an
    iterable of them. Anything else is refused here, at registration, naming the field: a
    typo found when the first job fails would have retried (or not) the wrong ones."""
    items: Iterable[object]
    if isinstance(value, type):
        items = (value,)
    elif isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"{field}: expected exception classes, got {value!r}")
    else:
        items = value
    out: list[type[BaseException]] = []
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise TypeError(f"{field}: expected exception classes, got {item!r}")
        out.append(item)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class RetryRules:
    """A handler's own retry choices (`register_handler(..., retry=, retry_on=,
    dont_retry_on=)`): its backoff `policy` (None: the service's), and which errors are
    retried. An error is retried when it is an instance (subclasses included) of a class in
    `retry_on` (None: every error) and of none in `dont_retry_on`, which wins where both
    match. A job's timeout counts as a `TimeoutError`."""

    policy: RetryPolicy | None = None
    retry_on: ExceptionClasses | None = None
    dont_retry_on: ExceptionClasses = ()

    @classmethod
    def build(
        cls, retry: object = None, retry_on: object = None, dont_retry_on: object = None
    ) -> RetryRules | None:
        """The rules of a registration's keywords, checked; None when none is given."""
        if retry is None and retry_on is None and dont_retry_on is None:
            return None
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise TypeError(f"retry: expected a RetryPolicy, got {type(retry).__name__}")
        return cls(
            retry,
            None if retry_on is None else exception_classes("retry_on", retry_on),
            () if dont_retry_on is None else exception_classes("dont_retry_on", dont_retry_on),
        )

    def why_not(self, error: BaseException) -> str | None:
        """None if `error` may be retried; else which rule says no."""
        if self.dont_retry_on and isinstance(error, self.dont_retry_on):
            return "dont_retry_on"
        if self.retry_on is not None and not isinstance(error, self.retry_on):
            return "retry_on"
        return None
