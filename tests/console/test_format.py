"""console/format.py against written-out strings: every branch of each formatter, so a
changed boundary or unit shows (the mutation run, tests/mutation/run.sh, uses these)."""

from __future__ import annotations

import os
import time

import pytest

from jobdeck.console.format import (
    bar,
    clip,
    clock_time,
    count,
    data_text,
    duration,
    not_loaded,
    preview,
    priority_label,
    short_id,
    size,
    sparkline,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (float("nan"), "-"),
        (1e12, "∞"),
        (-3, "0.0s"),
        (0, "0.0s"),
        (9.94, "9.9s"),
        (10, "10s"),
        (59.9, "59s"),
        (60, "1m00s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (86399, "23h59m"),
        (86400, "1d00h"),
        (90061, "1d01h"),
        (100 * 365 * 86400.0, "36500d00h"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("value", "compact", "text"),
    [
        (0, False, "0"),
        (1234567, False, "1,234,567"),
        (9999, True, "9,999"),
        (10_000, True, "10.0k"),
        (99_949, True, "99.9k"),
        (100_000, True, "100k"),
        (999_999, True, "999k"),
        (1_000_000, True, "1.0M"),
        (12_345_678, True, "12.3M"),
    ],
)
def test_count(value: int, compact: bool, text: str) -> None:
    assert count(value, compact) == text


def test_bar() -> None:
    assert bar(None, 6) == "      "
    assert bar(0.0, 10) == "░░░░░   0%"
    assert bar(1.0, 10) == "█████ 100%"
    assert bar(1.7, 10) == "█████ 100%" and bar(-1, 10) == "░░░░░   0%"
    assert bar(0.5, 14) == "█████░░░░  50%"
    assert bar(0.25, 9) == "█░░░  25%"
    assert bar(0.5, 5) == " 50%" and bar(0.5, 3) == "50%"  # no room for cells


def test_sparkline() -> None:
    assert sparkline([1, 2], 0) == "" and sparkline([1], -1) == ""
    assert sparkline([], 3) == "▁▁▁" and sparkline([0, 0, 0], 3) == "▁▁▁"
    assert sparkline([0, 7, 14], 3) == "▁▅█"  # 3.5 of 7 rounds to the even 4
    assert sparkline([1, 1, 2, 2], 2) == "▅█"  # resampled by summing pairs
    assert sparkline([5], 3) == "███"  # fewer values than cells: each cell gets one
    assert sparkline(list(range(8)), 8) == "▁▂▃▄▅▆▇█"


def test_ids_clipping_sizes_and_labels() -> None:
    assert short_id("abcdefghij") == "abcdefgh" and short_id("abc") == "abc"
    assert short_id("abcdefghij", 10) == "abcdefghij"
    assert clip("a  b\n c", 10) == "a b c"
    assert clip("abcdef", 6) == "abcdef" and clip("abcdefg", 6) == "abcde…"
    assert clip("abc", 0) == "" and clip("abc", 1) == "…"
    assert [size(n) for n in (0, 1023, 1024, 1536, 1024**2 * 50, 1024**3 * 1.2)] == [
        "0 B",
        "1023 B",
        "1.0 KB",
        "1.5 KB",
        "50.0 MB",
        "1.2 GB",
    ]
    assert not_loaded("result", 2048) == "(result: 2.0 KB, not loaded)"
    assert [priority_label(p) for p in (0, 1, 2, 3, 7)] == [
        "low",
        "normal",
        "high",
        "critical",
        "7",
    ]
    assert preview({"a": [1, 2]}) == '{"a":[1,2]}'
    assert preview(object()).startswith("<object object")
    assert preview("x" * 300, 10) == '"xxxxxxxx…' and len(preview("x" * 300, 10)) == 10
    assert preview("x" * 8, 10) == '"xxxxxxxx"'
    text = data_text("[bold]not markup[/bold]", "red")
    assert text.plain == "[bold]not markup[/bold]" and str(text.style) == "red"


def test_a_schedulers_ids_read_by_their_tick() -> None:
    """`sched:<schedule>:<tick ms>` ids all begin alike: they read `<schedule>@<time>`, the
    name cut first (issue 26: every one read `sched:hea…`)."""
    os.environ["TZ"] = "UTC"
    time.tzset()
    tick = "sched:heartbeat:1700000010000"  # 22:13:30 UTC
    assert short_id(tick, 36) == "heartbeat@22:13:30"
    assert short_id(tick, 12) == "he…@22:13:30"
    assert short_id(tick, 10) == "h…22:13:30"  # the name's first letter before the "@"
    assert short_id(tick, 9) == "…22:13:30" and short_id(tick, 8) == "22:13:30"
    assert short_id("sched:nightly-backup:1699999200000", 12) == "night…@22:00"
    assert short_id("sched:heartbeat:manual-1700000010123456", 40) == (
        "heartbeat manual@22:13:30"
    )
    assert short_id("sched:odd", 8) == "sched:od" and short_id("sched::1", 20) == "sched::1"


def test_clock_time() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    noon = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert clock_time(None, noon) == "-" and clock_time(0, noon) == "-"
    assert clock_time(noon + 0.12, noon) == "22:13:20.120"
    assert clock_time(noon, noon, with_ms=False) == "22:13:20"
    assert clock_time(noon - 86400, noon) == "2023-11-13 22:13:20.000"
    assert clock_time(1e300, noon) == "-"


def test_edges_the_mutation_run_found_open() -> None:
    """Written-out values at the edges of each formatter (tests/mutation/run.sh survivors)."""
    forever = 100 * 365 * 86400.0
    assert duration(forever + 1) == "∞" and duration(forever) == "36500d00h"
    assert duration(90_000) == "1d01h" and duration(172_799) == "1d23h"
    assert count(12_345) == "12,345"  # compact only when asked
    assert count(1_049_999, compact=True) == "1.0M" and count(1_050_001, compact=True) == "1.1M"
    assert data_text("a\nb").plain == "a␊b"  # one line unless asked for several
    assert sparkline([1, 2], 1) == "█" and sparkline([0.5], 1) == "█"
    assert sparkline(list(range(8)), 4) == "▂▄▆█"  # summed in pairs: 1, 5, 9, 13
    assert sparkline([1, 3], 4) == "▃▃██"  # each value spread over two cells
    assert len(preview("x" * 300)) == 200 and preview("x" * 300).endswith("…")
    assert clock_time(3600.5, 0) == "01:00:00.500"  # no "now": the epoch's day, no date
