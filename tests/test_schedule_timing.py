"""Fire-time maths against known answers, including daylight-saving changes in two zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobdeck.core.schedules import new_schedule, next_fire_after, plan_tick
from jobdeck.core.schedules.timing import MISFIRE_GRACE_MS


def ms(text: str) -> int:
    """An ISO time with offset -> epoch milliseconds."""
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def iso(value: int) -> str:
    return datetime.fromtimestamp(value / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")


def fires(cron: str, tz: str, start: str, count: int) -> list[str]:
    spec = new_schedule("s", "job", cron=cron, timezone=tz)
    out, at = [], ms(start)
    for _ in range(count):
        at = next_fire_after(spec, at)
        out.append(iso(at))
    return out


def test_plain_cron_in_utc() -> None:
    assert fires("0 3 * * *", "UTC", "2026-06-01T12:00:00+00:00", 2) == [
        "2026-06-02T03:00Z",
        "2026-06-03T03:00Z",
    ]
    assert fires("*/15 9-10 * * 1-5", "UTC", "2026-06-05T10:40:00+00:00", 3) == [
        "2026-06-05T10:45Z",  # a Friday
        "2026-06-08T09:00Z",  # then Monday
        "2026-06-08T09:15Z",
    ]


@pytest.mark.parametrize(
    ("tz", "day_before", "gap_day_fire", "next_day_fire"),
    [
        # Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist.
        ("Europe/Berlin", "2026-03-28T12:00:00+01:00", "2026-03-29T01:00Z", "2026-03-30T00:30Z"),
        # New York springs forward 2026-03-08 02:00 EST -> 03:00 EDT.
        ("America/New_York", "2026-03-07T12:00:00-05:00", "2026-03-08T07:00Z", "2026-03-09T06:30Z"),
    ],
)
def test_spring_forward_runs_a_skipped_time_once_right_after_the_gap(
    tz: str, day_before: str, gap_day_fire: str, next_day_fire: str
) -> None:
    # 02:30 local on the day the clock jumps 02:00 -> 03:00 runs once, at 03:00 local.
    assert fires("30 2 * * *", tz, day_before, 2) == [gap_day_fire, next_day_fire]


@pytest.mark.parametrize(
    ("tz", "day_before", "expected"),
    [
        # Berlin falls back 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice.
        ("Europe/Berlin", "2026-10-24T12:00:00+02:00", ["2026-10-25T00:30Z", "2026-10-26T01:30Z"]),
        # New York falls back 2026-11-01 02:00 EDT -> 01:00 EST: 01:30 happens twice.
        (
            "America/New_York",
            "2026-10-31T12:00:00-04:00",
            ["2026-11-01T05:30Z", "2026-11-02T06:30Z"],
        ),
    ],
)
def test_fall_back_runs_a_repeated_time_once(tz: str, day_before: str, expected: list[str]) -> None:
    time = "30 2 * * *" if tz == "Europe/Berlin" else "30 1 * * *"
    assert fires(time, tz, day_before, 2) == expected


def test_wildcard_hours_follow_real_time_through_the_repeated_hour() -> None:
    # Hourly in Berlin on the autumn change: 02:00 local comes twice, an hour apart.
    assert fires("0 * * * *", "Europe/Berlin", "2026-10-25T00:30:00+02:00", 4) == [
        "2026-10-24T23:00Z",
        "2026-10-25T00:00Z",
        "2026-10-25T01:00Z",
        "2026-10-25T02:00Z",
    ]


def test_next_fire_from_inside_the_repeated_hour_never_goes_back() -> None:
    spec = new_schedule("s", "job", cron="30 1 * * *", timezone="America/New_York")
    second_pass = ms("2026-11-01T01:45:00-05:00")  # 01:45 EST, after the 01:30 EDT run
    assert iso(next_fire_after(spec, second_pass)) == "2026-11-02T06:30Z"


def test_intervals_tick_on_multiples_so_every_process_agrees() -> None:
    spec = new_schedule("s", "job", every=timedelta(seconds=30))
    assert next_fire_after(spec, 1_000_000_001_000) == 1_000_000_020_000
    assert next_fire_after(spec, 1_000_000_020_000) == 1_000_000_050_000


def test_missed_ticks_run_the_latest_once_or_are_skipped() -> None:
    latest = new_schedule("s", "job", every=timedelta(seconds=2))
    skip = new_schedule("s", "job", every=timedelta(seconds=2), missed="skip")
    due, now = 100_000, 111_000  # down for 11 s: ticks at 100 s, 102 s, ... 110 s were due
    plan = plan_tick(latest, due, now)
    assert (plan.fire, plan.next_ms, plan.missed) == (110_000, 112_000, 5)
    plan = plan_tick(skip, due, now)
    assert plan.fire == 110_000  # the current tick is only 1 s late: not missed
    long = new_schedule("s", "job", every=timedelta(seconds=60), missed="skip")
    plan = plan_tick(long, 60_000, 60_000 + MISFIRE_GRACE_MS + 10_000)
    assert (plan.fire, plan.next_ms) == (None, 120_000)
    on_time = plan_tick(long, 60_000, 60_010)
    assert (on_time.fire, on_time.next_ms, on_time.missed) == (60_000, 120_000, 0)


def test_cron_outage_runs_only_the_latest_tick() -> None:
    spec = new_schedule("s", "job", cron="*/5 * * * *")
    plan = plan_tick(spec, ms("2026-06-01T10:00:00+00:00"), ms("2026-06-01T11:02:00+00:00"))
    assert iso(plan.fire or 0) == "2026-06-01T11:00Z"
    assert iso(plan.next_ms) == "2026-06-01T11:05Z"
    assert plan.missed == 12


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"cron": "0 3 * *"}, "cron"),
        ({"cron": "61 3 * * *"}, "cron"),
        ({"cron": "0 3 * * *", "every": 5}, "cron"),
        ({}, "cron"),
        ({"every": 0.5}, "every"),
        ({"every": timedelta(seconds=1.5)}, "every"),
        ({"every": "10"}, "every"),
        ({"cron": "0 3 * * *", "timezone": "Mars/Olympus"}, "timezone"),
        ({"every": 10, "missed": "all"}, "missed"),
        ({"every": 10, "args": [object()]}, "args/kwargs"),
        ({"every": 10, "priority": 9}, "priority"),
    ],
)
def test_bad_definitions_name_the_field(options: dict, field: str) -> None:
    with pytest.raises((TypeError, ValueError), match=rf"^{field}"):
        new_schedule("s", "job", **options)


def test_bad_schedule_name() -> None:
    with pytest.raises(ValueError, match=r"^schedule name"):
        new_schedule("has space", "job", every=10)
