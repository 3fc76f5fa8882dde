"""Edges of the console's event reducer that the mutation run found unguarded: where a
finished job lands in a longer list, and depths that never go below zero."""

from __future__ import annotations

from jobdeck.console.live.reducer import apply_events, replay_depths
from jobdeck.console.live.state import ConsoleState, JobRow
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


def test_events_the_counts_already_include_are_not_counted_again() -> None:
    """Counts read with the log position they include (metrics' events_through): an event at
    or before it, delivered afterwards, leaves them alone; a newer one moves them."""
    state = _state()
    state.depths.update({"running": 1, "completed": 4, "failed": 3})
    state.depths_through = (101, 1)
    included = Event(Events.JOB_COMPLETED, 101.0, "a", "task", "completed", {}, id="101-1")
    purged = Event(Events.JOBS_PURGED, 101.0, None, None, "failed", {"count": 3}, id="100-9")
    apply_events(state, [included, purged])
    assert (state.depth("running"), state.depth("completed"), state.depth("failed")) == (1, 4, 3)
    newer = Event(Events.JOB_COMPLETED, 101.0, "b", "task", "completed", {}, id="101-2")
    apply_events(state, [newer])
    assert (state.depth("running"), state.depth("completed")) == (0, 5)


def test_fresh_counts_take_back_only_the_events_they_missed() -> None:
    state = _state()
    state.depths.update({"pending": 2, "running": 0})
    read = [Event(Events.JOB_STARTED, 100.0, i, "task", "running", {}, id=f"100-{n}")
            for n, i in enumerate("abc")]
    apply_events(state, read)  # delivered while the counts were being read
    state.depths, state.depths_through = {"pending": 2, "running": 1}, (100, 0)  # include "a"
    replay_depths(state, read)
    assert (state.depth("pending"), state.depth("running")) == (0, 3)
