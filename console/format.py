"""Plain-text formatting shared by the widgets: durations, counts, bars and sparklines.

Everything here returns text that reads the same without colour: states are words, progress
is a bar of block characters plus a percentage, and the sparkline is made of block heights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.text import Text

from jobdeck.core.codec import dumps
from jobdeck.core.text import display_text

__all__ = [
    "bar",
    "clip",
    "clock_time",
    "count",
    "data_text",
    "duration",
    "not_loaded",
    "note_id",
    "preview",
    "priority_label",
    "schedule_label",
    "short_id",
    "size",
    "sparkline",
]

_SPARK = "▁▂▃▄▅▆▇█"
_FOREVER = 100 * 365 * 86400.0  # past this a duration reads as "∞"
_PRIORITIES = {0: "low", 1: "normal", 2: "high", 3: "critical"}


def data_text(
    value: object, style: str = "", *, limit: int | None = None, multiline: bool = False
) -> Text:
    """Untrusted `value` (a name, an error, anything read from the queue) as a Rich `Text`:
    made safe by `display_text` and never parsed as markup. Every widget that shows data
    builds it here (or passes `display_text(...)` to a renderer that does not parse markup)."""
    return Text(display_text(value, limit=limit, multiline=multiline), style=style)


def duration(seconds: float | None) -> str:
    """A compact duration: `0.4s`, `12s`, `3m05s`, `2h03m`, `4d02h`; `-` when unknown."""
    if seconds is None or seconds != seconds:  # None or NaN
        return "-"
    if seconds > _FOREVER:
        return "∞"  # a far-future time from a record must not crash a view
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def count(value: int, compact: bool = False) -> str:
    """`12,345`, or with `compact` `12.3k` / `1.2M` for numbers of five digits and more."""
    if not compact or value < 10_000:
        return f"{value:,}"
    if value < 1_000_000:
        return f"{value / 1000:.1f}k" if value < 100_000 else f"{value // 1000}k"
    return f"{value / 1_000_000:.1f}M"


def bar(fraction: float | None, width: int) -> str:
    """`█████░░░░░ 50%` in `width` cells; blanks when there is no progress to show."""
    if fraction is None:
        return " " * width
    fraction = min(1.0, max(0.0, fraction))
    label = f"{round(fraction * 100):3d}%"
    cells = max(0, width - len(label) - 1)
    filled = int(fraction * cells + 0.5)
    return "█" * filled + "░" * (cells - filled) + " " + label if cells else label[-width:]


def sparkline(values: Sequence[float], width: int) -> str:
    """Block heights for `values` (oldest first), resampled to `width` cells by summing."""
    if width <= 0:
        return ""
    if not values:
        return _SPARK[0] * width
    buckets: list[float] = []
    size = len(values)
    for cell in range(width):
        start, end = cell * size // width, max((cell + 1) * size // width, cell * size // width + 1)
        buckets.append(sum(values[start:end]))
    top = max(buckets)
    if top <= 0:
        return _SPARK[0] * width
    return "".join(_SPARK[min(7, round(v / top * 7))] for v in buckets)


_SCHEDULED = "sched:"  # core.ids.SCHEDULER_ID_PREFIX: `sched:<schedule>:<tick in ms>`


def short_id(job_id: str, width: int = 8) -> str:
    """An id in about `width` cells that still tells jobs apart. Random ids differ from
    their first character; a scheduler's ids (`sched:<schedule>:<tick ms>`) all begin alike
    and differ at the end, so they read `<schedule>@<tick time>`, the schedule's name cut
    in the middle and the time kept (`nightly…@03:00`, `…@08:59:30`)."""
    if job_id.startswith(_SCHEDULED):
        return schedule_label(job_id, width)
    return job_id if len(job_id) <= width else job_id[:width]


def note_id(job_id: str) -> str:
    """An id in a sentence (a notification): a random id's first 8 characters, a
    scheduler's `<schedule>@<tick time>` whole (up to 32)."""
    return short_id(job_id, 32 if job_id.startswith(_SCHEDULED) else 8)


def schedule_label(job_id: str, width: int) -> str:
    schedule, _, tick = job_id[len(_SCHEDULED) :].rpartition(":")
    manual = tick.startswith("manual-")
    digits = tick.removeprefix("manual-")
    if not schedule or not digits.isdigit():
        return job_id if len(job_id) <= width else job_id[:width]
    stamp = int(digits) / (1e6 if manual else 1e3)
    try:
        local = time.localtime(stamp)
    except (OverflowError, OSError, ValueError):
        return job_id[:width]
    when = time.strftime("%H:%M" if local.tm_sec == 0 and not manual else "%H:%M:%S", local)
    if manual:  # a trigger by hand (`sched:<schedule>:manual-<µs>`)
        schedule = f"{schedule} manual"
    if len(schedule) + len(when) + 1 <= width:
        return f"{schedule}@{when}"
    room = width - len(when) - 2
    if room >= 2:
        return schedule[:room] + "…@" + when
    if room + 1 >= 1:  # narrow: the name's first letter rather than the "@"
        return schedule[: room + 1] + "…" + when
    if width == len(when) + 1:
        return "…" + when
    return when[-width:] if width > 0 else ""


def clip(text: str, width: int) -> str:
    """One line of at most `width` cells, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + "…" if width > 0 else ""


def size(count: int) -> str:
    """Bytes as `812 B`, `4.0 KB`, `50.0 MB`, `1.2 GB`."""
    value = float(count)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def not_loaded(field: str, count: int) -> str:
    """What a view shows for a value it did not read (too large): its field and its size."""
    return f"({field}: {size(count)}, not loaded)"


def priority_label(priority: int) -> str:
    return _PRIORITIES.get(int(priority), str(priority))


def preview(value: Any, limit: int = 200) -> str:
    """A value as one line of compact JSON (or its repr if it is not JSON)."""
    try:
        text = dumps(value).decode()
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clock_time(timestamp: float | None, now: float, with_ms: bool = True) -> str:
    """`14:03:27.120` in local time (with the date when it is not the day of `now`)."""
    if not timestamp:
        return "-"
    try:
        local = time.localtime(timestamp)
    except (OverflowError, OSError, ValueError):  # a timestamp no calendar holds
        return "-"
    text = time.strftime("%H:%M:%S", local)
    if with_ms:
        text += f".{int(timestamp * 1000) % 1000:03d}"
    if time.strftime("%Y-%m-%d", local) != time.strftime("%Y-%m-%d", time.localtime(now or 0)):
        text = time.strftime("%Y-%m-%d ", local) + text
    return text
