"""Enter on a job: everything about it on one scrolling page; esc goes back.

The screen draws `job` and `events` as the app hands them down (the app refetches the job
when one of its events arrives); it never reads the queue itself. A job of a workflow lists
its parents and children with their statuses: `[` and `]` pick one, enter opens it (esc comes
back here).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from jobdeck.core.models import JobDefinition
from jobdeck.core.text import display_text
from jobdeck.core.workflows import Relatives

from ..format import bar, clock_time, data_text, duration, not_loaded, priority_label
from ..live.timeline import Step, timeline_entries
from ..widgets.footer import KeysFooter

__all__ = ["DetailScreen"]

#: The most characters of one value (args, kwargs, result, error, traceback) the page shows:
#: more would cost the operator's terminal seconds per redraw and tell them nothing.
SHOWN_CHARS = 20_000


class DetailScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back"),
        Binding("left_square_bracket", "pick(-1)", "Prev job", show=False),
        Binding("right_square_bracket", "pick(1)", "Next job", show=False),
        Binding("enter", "open", "Open job"),
    ]

    @dataclass
    class Opened(Message):
        """The operator asked for a parent's or a child's page."""

        job_id: str

    def __init__(self, job_id: str, *, clock: Callable[[], float], name: str = "") -> None:
        super().__init__()
        self.job_id = job_id
        self.clock = clock
        self.job: JobDefinition | None = None
        self.steps: Sequence[Step] = ()
        self.family: Relatives | None = None
        self.picked = -1  # which of the listed parents and children is picked (-1: none)
        self.missing = False
        self._hint = name

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail-scroll"):
            yield Static(id="detail-body")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#detail-scroll").focus()
        self._draw()

    def show(
        self, job: JobDefinition | None, steps: Sequence[Step], family: Relatives | None = None
    ) -> None:
        """The app hands down the job as last read, the steps seen for it, and its parents
        and children (workflows) when it read them."""
        self.missing = job is None
        if job is not None:
            self.job = job
        self.steps = steps
        if family is not None:
            self.family = family
            self.picked = min(self.picked, len(self.relatives) - 1)
        if self.is_mounted:
            self._draw()
            self.refresh_bindings()

    @property
    def relatives(self) -> list[tuple[str, str, str]]:
        """(kind, id, status) of each listed parent, then each listed child."""
        family = self.family
        if family is None:
            return []
        return [("parent", j, s) for j, s in family.parents] + [
            ("child", j, s) for j, s in family.children
        ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("pick", "open"):
            return bool(self.relatives)  # shown in the footer only for a job of a workflow
        return True

    def action_pick(self, step: int) -> None:
        listed = self.relatives
        if listed:
            self.picked = (self.picked + step) % len(listed) if self.picked >= 0 else 0
            self._draw()

    def action_open(self) -> None:
        listed = self.relatives
        if 0 <= self.picked < len(listed):
            self.post_message(self.Opened(listed[self.picked][1]))

    def redraw(self) -> None:
        """Times move on: draw again with the same data."""
        if self.is_mounted:
            self._draw()

    def action_back(self) -> None:
        self.dismiss(None)

    def _draw(self) -> None:
        # A refresh may land while the screen is torn down (its body already removed).
        for body in self.query("#detail-body").results(Static):
            body.update(self.render_job())

    def render_job(self) -> RenderableType:
        job, now = self.job, self.clock()
        if job is None:
            text = "job not found (finished jobs expire)" if self.missing else "loading…"
            return Text(f"Job {display_text(self.job_id)}  {display_text(self._hint)}\n\n{text}")
        parts: list[RenderableType] = [_summary(job, now, self.missing)]
        if self.family is not None and (self.family.parents_total or self.family.children_total):
            parts += [Text(), _family(job, self.family, self.picked)]
        if job.status.value == "running" or job.progress.fraction or job.progress.message:
            line = Text("Progress  ", style="bold")
            line.append(bar(job.progress.fraction, 30))
            line.append("  " + display_text(job.progress.message))
            parts += [Text(), line]
        timeline = Table.grid(padding=(0, 2))
        timeline.add_column(no_wrap=True)
        timeline.add_column()
        for when, text in timeline_entries(job, self.steps):
            timeline.add_row(Text(" " + clock_time(when, now)), data_text(text))
        parts += [Text(), Text("Timeline", style="bold"), timeline]
        parts += [Text(), _block("Args", list(job.args)), _block("Kwargs", job.kwargs)]
        if job.meta:  # the caller's own (submit_job(meta=...)), shown only when it has one
            parts.append(_block("Meta", job.meta))
        if job.status.value == "completed" or job.result is not None:
            parts.append(_block("Result", job.result))
        for name, stored in job.omitted.items():
            note = Text(f"{name.capitalize():<10}", style="bold")
            note.append(display_text(not_loaded(name, stored)) + " (too large to show here)")
            parts.append(note)
        if job.error is not None:
            error = Text("Error     ", style="bold")
            message = f"{job.error.type}: {job.error.message}"
            error.append(display_text(message, limit=SHOWN_CHARS, multiline=True), "bold red")
            parts += [Text(), error, *_cut_note(message)]
            if job.error.traceback:
                trace = job.error.traceback.rstrip()
                shown = data_text(trace, limit=SHOWN_CHARS, multiline=True)
                parts += [Text("Traceback", style="bold"), shown, *_cut_note(trace)]
            else:
                parts.append(Text("(no traceback recorded)", style="dim"))
        return Group(*parts)


def _summary(job: JobDefinition, now: float, missing: bool) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    for style in ("bold", "", "bold", ""):
        grid.add_column(style=style, no_wrap=True)
    status = job.status.value.upper() + job.status_text[len(job.status.value) :]
    if missing:
        status += " (no longer stored)"
    waited = job.wait_time
    if waited is None and job.status.value in ("pending", "scheduled"):
        waited = now - (job.scheduled_for or job.created_at) if job.created_at else None
    run = job.run_time
    if run is None and job.started_at and job.status.value == "running":
        run = now - job.started_at
    rows = [
        ("name", job.name, "status", status),
        (
            "priority",
            priority_label(job.priority),
            "attempts",
            f"{job.attempts} of {job.max_retries + 1}",
        ),
        ("worker", job.worker or "-", "timeout", duration(job.timeout) if job.timeout else "none"),
        ("created", clock_time(job.created_at, now), "waited", duration(waited)),
        ("started", clock_time(job.started_at, now), "run time", duration(run)),
    ]
    if job.scheduled_for and job.status.value == "scheduled":
        rows.append(
            ("due", clock_time(job.scheduled_for, now), "in", duration(job.scheduled_for - now))
        )
    if job.finished_at:
        rows.append(("finished", clock_time(job.finished_at, now), "stalls", str(job.stalls)))
    if job.limit or job.group:  # (limits) what it runs under, and whether that holds it now
        limit = job.limit or "-"
        if job.throttled and job.status.value == "pending":
            by = "" if job.throttled == job.limit else f" by {job.throttled}"
            limit += f" (throttled{by})"
        rows.append(("limit", limit, "group", job.group or "-"))
    if job.expires_at and not job.started_at:  # (workflows) it expires if not started by then
        left = job.expires_at - now
        rows.append(("expires", clock_time(job.expires_at, now), "in", duration(max(0, left))))
    for row in rows:
        # Cells are Text: a plain str cell would be parsed as markup (names are data).
        grid.add_row(*(data_text(cell) for cell in row))
    title = Text("Job ", style="bold")
    title.append(display_text(job.id), style="bold reverse")
    return Group(title, grid)


def _family(job: JobDefinition, family: Relatives, picked: int) -> RenderableType:
    """(workflows) What it waits for and what waits for it, each with its status; the
    picked one (`[` / `]`) is marked, enter opens it."""
    lines: list[RenderableType] = []
    index = 0
    for label, listed, total in (
        ("Parents", family.parents, family.parents_total),
        ("Children", family.children, family.children_total),
    ):
        if not total:
            continue
        head = Text(f"{label:<10}", style="bold")
        if label == "Parents" and job.status.value == "waiting":
            head.append(f"waiting for {job.waiting_for} of {total}", "dim")
        if label == "Parents" and job.on_parent_failure != "fail":
            head.append(f"  (on a parent's failure: {job.on_parent_failure})", "dim")
        lines.append(head)
        for jid, status in listed:
            line = Text("  > " if index == picked else "    ")
            line.append(display_text(jid), "reverse" if index == picked else "")
            line.append("  " + (status or "gone"), _STATUS_STYLE.get(status, ""))
            lines.append(line)
            index += 1
        if total > len(listed):
            lines.append(Text(f"    ... {total - len(listed):,} more", style="dim"))
    lines.append(Text("  [ ] pick a job, enter opens it", style="dim"))
    return Group(*lines)


_STATUS_STYLE = {"failed": "red", "completed": "green", "cancelled": "yellow", "expired": "yellow"}


def _block(label: str, value: Any) -> RenderableType:
    """`Args      [1, 2]` on one line when short, else indented JSON below the label."""
    head = Text(f"{label:<10}", style="bold")
    try:
        flat = json.dumps(value, ensure_ascii=False)
        body = orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except (TypeError, ValueError):
        flat = body = repr(value)
    if len(flat) <= 60:
        return head + data_text(flat)
    shown = data_text("  " + body[:SHOWN_CHARS].replace("\n", "\n  "), multiline=True)
    return Group(head, shown, *_cut_note(body))


def _cut_note(text: str) -> list[Text]:
    """Say so when a value is longer than the page shows."""
    if len(text) <= SHOWN_CHARS:
        return []
    return [Text(f"  (the first {SHOWN_CHARS:,} of {len(text):,} characters)", style="dim")]
