"""What each tab's table shows: its columns, as small functions of a row and the time.

A cell is plain text; a column may also give the row a *tone* (error, warning, ok, dim) that
the table turns into a colour from its CSS. Nothing depends on the colour: every state is
also a word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..format import bar, clip, duration, priority_label, short_id

__all__ = ["COLUMNS", "Column", "layout"]

Cell = Callable[[Any, float], str]


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    cell: Cell
    width: int  # at least this many cells
    grow: int = 0  # share of the spare width
    max_width: int = 0  # 0: no limit
    right: bool = False
    tone: Callable[[Any], str | None] | None = None
    # A cell that shortens itself to the width it gets (an id keeps what tells it apart);
    # without one the table cuts the cell's end.
    fit: Callable[[Any, float, int], str] | None = None

    def text(self, row: Any, now: float, size: int) -> str:
        return self.fit(row, now, size) if self.fit else self.cell(row, now)


def layout(columns: tuple[Column, ...], width: int) -> list[int]:
    """Column widths for a table `width` cells wide (one space between columns)."""
    widths = [c.width for c in columns]
    spare = width - sum(widths) - (len(columns) - 1)
    while spare > 0:
        growing = [
            i
            for i, c in enumerate(columns)
            if c.grow and (not c.max_width or widths[i] < c.max_width)
        ]
        if not growing:
            break
        weight = sum(columns[i].grow for i in growing)
        given = 0
        for i in growing:
            share = max(1, spare * columns[i].grow // weight)
            if columns[i].max_width:
                share = min(share, columns[i].max_width - widths[i])
            share = min(share, spare - given)
            widths[i] += share
            given += share
            if given >= spare:
                break
        spare -= given
        if given == 0:
            break
    return widths


# -- cells -------------------------------------------------------------------------------
def _id(row: Any, now: float) -> str:
    return short_id(row.id, 36)


def _id_fit(row: Any, now: float, size: int) -> str:
    label = short_id(row.id, size)
    # a plain cut: the table's own, which shows the cut with an ellipsis
    return row.id[:36] if label == row.id[:size] else label


def _name(row: Any, now: float) -> str:
    return row.name


def _waiting(row: Any, now: float) -> str:
    if row.status == "scheduled" and row.scheduled_for:
        return "in " + duration(row.scheduled_for - now)
    ready = row.scheduled_for or row.created_at
    return duration(now - ready) if ready else "-"


def _pending_state(row: Any, now: float) -> str:
    if row.status in ("scheduled", "waiting"):  # waiting: for the jobs it runs after
        return str(row.status)
    return "throttled" if row.throttled else "pending"  # held by a limit: still pending


def _tries(row: Any, now: float) -> str:
    return f"{row.attempts}/{row.max_retries + 1}"


def _elapsed(row: Any, now: float) -> str:
    return duration(now - row.started_at) if row.started_at else "-"


def _progress(row: Any, now: float) -> str:
    return bar(row.fraction, 14) if row.fraction is not None else "-"


def _message(row: Any, now: float) -> str:
    if row.cancel_requested:
        return "cancelling… " + row.message
    return row.message


def _finished_ago(row: Any, now: float) -> str:
    return duration(now - row.finished_at) + " ago" if row.finished_at else "-"


def _error(row: Any, now: float) -> str:
    return clip(row.error, 500)


def _runtime(row: Any, now: float) -> str:
    return duration(row.runtime)


def _tone_status(row: Any) -> str | None:
    if row.status == "pending" and row.throttled:
        return "warning"
    return {
        "failed": "error",
        "cancelled": "warning",
        "scheduled": "dim",
        "waiting": "dim",
        "expired": "warning",
    }.get(row.status)


def _tone_priority(row: Any) -> str | None:
    return {3: "error", 2: "warning", 0: "dim"}.get(row.priority)


def _tone_worker(row: Any) -> str | None:
    if row.loop_blocked:
        return "error"
    return "warning" if row.concurrency == 0 or row.paused or row.queue_paused else None


def _heartbeat(row: Any, now: float) -> str:
    return duration(now - row.last_heartbeat) + " ago"


def _worker_state(row: Any, now: float) -> str:
    if row.concurrency == 0:
        state = "stopped"
    elif row.paused:
        state = "paused"
    elif row.queue_paused:
        state = "paused (queue)"
    elif row.running >= row.concurrency:
        state = "busy"
    else:
        state = "working" if row.running else "idle"
    if row.loop_blocked:
        state = f"LOOP BLOCKED, {state}"
    return f"{state}, embedded" if row.embedded else state


COLUMNS: dict[str, tuple[Column, ...]] = {
    "pending": (
        Column("ID", _id, 8, grow=1, max_width=36, fit=_id_fit),
        Column("Name", _name, 14, grow=3, max_width=32),
        Column("Priority", lambda r, n: priority_label(r.priority), 8, tone=_tone_priority),
        Column("State", _pending_state, 9, tone=_tone_status),
        Column("Waiting", _waiting, 8, right=True),
        Column("Tries", _tries, 5, right=True),
        Column("Args", lambda r, n: r.preview, 10, grow=4),
    ),
    "running": (
        Column("ID", _id, 8, grow=1, max_width=36, fit=_id_fit),
        Column("Name", _name, 12, grow=3, max_width=32),
        Column("Worker", lambda r, n: r.worker or "-", 10, grow=2, max_width=40),
        Column("Elapsed", _elapsed, 7, right=True),
        Column("Progress", _progress, 14),
        Column("Message", _message, 10, grow=4),
    ),
    "dead": (
        Column("ID", _id, 8, grow=1, max_width=36, fit=_id_fit),
        Column("Name", _name, 14, grow=3, max_width=32),
        Column("Tries", lambda r, n: str(r.attempts), 5, right=True),
        Column("Failed", _finished_ago, 9, right=True),
        Column("Last error", _error, 20, grow=5, tone=lambda r: "error"),
    ),
    "workers": (
        Column("ID", lambda r, n: r.id, 8, grow=3, max_width=48),
        Column("Host", lambda r, n: r.host, 6, grow=1, max_width=30),
        Column("PID", lambda r, n: str(r.pid), 6, right=True),
        Column("Concurrency", lambda r, n: str(r.concurrency), 11, right=True, tone=_tone_worker),
        Column("Busy", lambda r, n: str(r.running), 4, right=True),
        Column("Seen", _heartbeat, 8, right=True),
        Column("Done", lambda r, n: f"{r.processed:,}", 5, grow=1, max_width=10, right=True),
        Column("State", _worker_state, 12, grow=1, max_width=20, tone=_tone_worker),
        # the job names it runs (issue 22): a job no live worker lists waits, unserved
        Column("Handlers", lambda r, n: r.handlers, 8, grow=3),
    ),
    "history": (
        Column("ID", _id, 8, grow=1, max_width=36, fit=_id_fit),
        Column("Name", _name, 14, grow=3, max_width=32),
        Column("Status", lambda r, n: r.status, 9, tone=_tone_status),
        Column("Finished", _finished_ago, 9, right=True),
        Column("Run time", _runtime, 8, right=True),
        Column("Result", lambda r, n: r.preview or r.error, 10, grow=4),
    ),
}
