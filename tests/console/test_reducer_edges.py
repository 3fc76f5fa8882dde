"""Edges of the console's event reducer that the mutation run found unguarded: where a
finished job lands in a longer list, and depths that never go below zero."""

from __future__ import annotations

from jobdeck.console.reducer import apply_events
from jobdeck.console.state import ConsoleState, JobRow
from jobdeck.core.events import Event, Events


def _state(**rows: list[str]) -> ConsoleState:
    state = ConsoleState(queue="q", server="memory://x")
    for tab, ids in rows.items():
        view = state.views[tab]
        view.rows = [JobRow(id=i, name="task", status=tab) for i in ids]
        view.total, view.loaded = len(ids), True
    return state


def test_a_finished_job_lands_first_above_several_older_ones() -> None:
    state = _state(running=["a"], history=["old-1", "old-2", "old-3"])
    event = Event(Events.JOB_COMPLETED, 101.0, "a", "task", "completed", {}, id="101-0")
    apply_events(state, [event])
    assert [r.id for r in state.views["history"].rows] == ["a", "old-1", "old-2", "old-3"]
    assert state.views["history"].total == 4


def test_depths_never_go_below_zero() -> None:
    state = _state()
    state.depths.update({"running": 0, "completed": 5})
    event = Event(Events.JOB_COMPLETED, 101.0, "a", "task", "completed", {}, id="101-0")
    apply_events(state, [event])
    assert state.depth("running") == 0  # an event for a job the counts never saw
    assert state.depth("completed") == 6


def test_a_purge_updates_the_header_and_marks_lists_for_a_refetch() -> None:
    state = _state()
    state.depths.update({"failed": 7})
    event = Event(Events.JOBS_PURGED, 101.0, None, None, "failed", {"count": 5}, id="101-0")
    effects = apply_events(state, [event])
    assert state.depth("failed") == 2
    assert effects.header is True
    assert {"dead", "history", "pending"} <= effects.dirty
