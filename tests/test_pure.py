"""The pure modules (retry, metrics, keys, codec, models) against written-out numbers.

These need no server: each case states the answer by hand rather than recomputing it with
the code under test, so a changed formula fails here (and `tests/mutation.sh` measures how
many deliberate changes these tests catch).
"""

from __future__ import annotations

import random

import pytest

from jobdeck.core import RetryPolicy
from jobdeck.core.backend.base import RawMetrics
from jobdeck.core.metrics import build_metrics


# -- retry ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RetryPolicy(), [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0)]),
        (RetryPolicy(base=0.4, jitter=0.5), [(0.2, 0.4), (0.4, 0.8), (0.8, 1.6), (1.6, 3.2)]),
        (RetryPolicy(base=2.0, factor=3.0, jitter=0.0), [(2, 2), (6, 6), (18, 18), (54, 54)]),
        (RetryPolicy(base=1.0, factor=1.0, jitter=1.0), [(0, 1), (0, 1), (0, 1), (0, 1)]),
        # the cap: 1, 2, 4, then 5 and 5 again rather than 8 and 16
        (
            RetryPolicy(base=1.0, max_delay=5.0, jitter=0.2),
            [(0.8, 1.0), (1.6, 2.0), (3.2, 4.0), (4.0, 5.0), (4.0, 5.0)],
        ),
    ],
)
def test_backoff_bounds_by_hand(policy: RetryPolicy, expected: list[tuple[float, float]]) -> None:
    for attempt, (low, high) in enumerate(expected, start=1):
        assert policy.bounds(attempt) == pytest.approx((low, high)), attempt


def test_backoff_caps_at_max_delay_however_many_attempts() -> None:
    policy = RetryPolicy(base=1.0, factor=2.0, max_delay=300.0, jitter=0.5)
    assert policy.bounds(9) == pytest.approx((128.0, 256.0))
    assert policy.bounds(10) == pytest.approx((150.0, 300.0))
    assert policy.bounds(40) == pytest.approx((150.0, 300.0))
    assert RetryPolicy(max_delay=0.0).bounds(3) == (0.0, 0.0)
    # attempt 0 (or less) is treated as the first
    assert policy.bounds(0) == policy.bounds(1) == pytest.approx((0.5, 1.0))


def test_backoff_delay_is_drawn_within_the_bounds() -> None:
    random.seed(7)
    policy = RetryPolicy(base=1.0, factor=2.0, jitter=0.5)
    delays = [policy.delay(3) for _ in range(2000)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert min(delays) < 2.1 and max(delays) > 3.9, "jitter spreads over the whole range"
    assert RetryPolicy(base=0.3, jitter=0.0).delay(1) == 0.3


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"base": -0.1}, "base and max_delay must be >= 0"),
        ({"max_delay": -1.0}, "base and max_delay must be >= 0"),
        ({"factor": 0.99}, "factor must be >= 1"),
        ({"jitter": -0.01}, "jitter must be between 0 and 1"),
        ({"jitter": 1.01}, "jitter must be between 0 and 1"),
    ],
)
def test_retry_policy_validation(options: dict[str, float], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        RetryPolicy(**options)


def test_retry_policy_edges_are_allowed() -> None:
    for options in ({"base": 0.0}, {"max_delay": 0.0}, {"factor": 1.0}, {"jitter": 0.0}):
        RetryPolicy(**options)  # type: ignore[arg-type]
    RetryPolicy(jitter=1.0)


# -- metrics ----------------------------------------------------------------------------------
def test_metrics_from_known_buckets() -> None:
    buckets = [
        {"completed": 4, "started": 4, "finished": 4, "wait_ms": 400, "run_ms": 200},
        {"completed": 6, "failed": 1, "started": 2, "finished": 7, "wait_ms": 200, "run_ms": 500},
        {"completed": 100, "submitted": 3, "started": 4, "finished": 1, "wait_ms": 1400},
    ]
    raw = RawMetrics(now=12.5, depths={"pending": 3}, totals={"submitted": 9}, buckets=buckets)
    m = build_metrics(raw)
    assert m.timestamp == 12.5 and m.depths == {"pending": 3} and m.totals == {"submitted": 9}
    assert m.completed_per_second == [4, 6, 100]
    assert m.failed_per_second == [0, 1, 0]
    assert m.submitted_per_second == [0, 0, 3]
    assert m.window == 3
    # the current (last) second is still filling: rates use the whole ones, 10 in 2 s
    assert m.throughput == 5.0
    assert m.throughput_10s == 5.0
    # waits and run times count every bucket: 2000 ms over 10 starts, 700 ms over 12 ends
    assert m.avg_wait == pytest.approx(0.2)
    assert m.avg_run == pytest.approx(700 / 12 / 1000)
    assert m.paused is False


def test_metrics_throughput_10s_uses_the_last_ten_whole_seconds() -> None:
    buckets = [{"completed": 50}] * 5 + [{"completed": 2}] * 10 + [{"completed": 999}]
    m = build_metrics(RawMetrics(now=0.0, depths={}, totals={}, buckets=buckets, paused=True))
    assert m.throughput == pytest.approx((250 + 20) / 15)
    assert m.throughput_10s == 2.0
    assert m.paused is True


def test_metrics_of_an_idle_queue() -> None:
    m = build_metrics(RawMetrics(now=1.0, depths={}, totals={}))
    assert (m.throughput, m.throughput_10s, m.avg_wait, m.avg_run) == (0.0, 0.0, None, None)
    assert m.window == 0
    one = build_metrics(RawMetrics(now=1.0, depths={}, totals={}, buckets=[{"completed": 3}]))
    assert (one.throughput, one.throughput_10s) == (3.0, 3.0)  # one second: it is the window
