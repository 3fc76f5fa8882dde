"""The reducer's bookkeeping against written-out answers: where each transition comes from,
what a tab's window and total become when a row leaves or arrives above, inside or below
it, filtered tabs, worker events, and which effects a batch reports. These are the cases
the mutation run (tests/mutation/run.sh) found no test for."""

from __future__ import annotations

import pytest

from jobdeck.console.live.reducer import Effects, apply_events, source_status
from jobdeck.console.live.state import ConsoleState, JobRow
from jobdeck.core.backend.base import WorkerRecord
from jobdeck.core.events import Event, Events


def ev(kind: Events, job_id: str = "", status: str = "", name: str = "task", **data) -> Event:
    return Event(kind, 100.0, job_id or None, name, status or None, data, id="100-0")


def state_with(offset: int = 0, total: int | None = None, **rows: list[str]) -> ConsoleState:
    state = ConsoleState(queue="q", server="memory://x")
    for tab, ids in rows.items():
        view = state.views[tab]
        view.rows = [JobRow(id=i, name="task", status=tab) for i in ids]
        view.offset = offset
        view.total = len(ids) if total is None else total
        view.loaded = True
    return state


def ids(state: ConsoleState, tab: str) -> list[str]:
    return [row.id for row in state.views[tab].rows]


@pytest.mark.parametrize(
    ("event", "source"),
    [
        (ev(Events.JOB_SUBMITTED), None),
        (ev(Events.JOB_STARTED), "pending"),
        (ev(Events.JOB_CANCELLED, was="scheduled"), "scheduled"),
        (ev(Events.JOB_CANCELLED, was="pending"), "pending"),
        (ev(Events.JOB_CANCELLED), "running"),
        (ev(Events.JOB_REQUEUED, reason="retry"), "failed"),
        (ev(Events.JOB_REQUEUED, reason="stalled"), "running"),
        (ev(Events.JOB_FAILED, reason="malformed"), "pending"),
        (ev(Events.JOB_FAILED), "running"),
        (ev(Events.JOB_COMPLETED), "running"),
        (ev(Events.JOB_COMPLETED, reason="malformed"), "running"),
        (ev(Events.JOB_PROGRESS), None),
        (ev(Events.QUEUE_PAUSED), None),
    ],
)
def test_where_each_transition_comes_from(event: Event, source: str | None) -> None:
    assert source_status(event) == source


def test_a_batch_counts_its_events_and_says_what_changed() -> None:
    assert Effects() == Effects(set(), set(), False, False, set(), None)
    state = state_with(pending=["a", "b"], running=[])
    effects = apply_events(
        state,
        [ev(Events.JOB_STARTED, "a", "running"), ev(Events.JOB_STARTED, "b", "running")],
    )
    assert state.events_seen == 2
    assert effects.header is True and effects.workers is False and effects.connection is None
    assert effects.jobs == {"a", "b"}
    assert state.views["pending"].total == 0  # each start takes exactly one away


def test_connection_news_in_the_effects() -> None:
    state = state_with()
    lost = apply_events(state, [Event(Events.CONNECTION_LOST, 1.0, data={"error": "refused"})])
    assert (lost.connection, lost.header, lost.workers, lost.dirty) == ("lost", True, False, set())
    back = apply_events(state, [Event(Events.CONNECTION_RESTORED, 2.0)])
    assert (back.connection, back.header, back.workers) == ("restored", True, True)
    assert back.dirty == set(state.views)  # every window is read again


def test_a_purge_without_a_count_changes_no_depth() -> None:
    state = state_with()
    state.depths = {"completed": 4}
    apply_events(state, [Event(Events.JOBS_PURGED, 1.0, status="completed")])
    assert state.depth("completed") == 4


def test_started_and_failed_rows_read_their_attempt() -> None:
    state = state_with(running=[], dead=[])
    apply_events(state, [ev(Events.JOB_STARTED, "a", "running")])
    assert state.views["running"].rows[0].attempts == 1  # no attempt said: the first
    apply_events(state, [ev(Events.JOB_FAILED, "a", "failed", error_type="Timeout")])
    (row,) = state.views["dead"].rows
    assert (row.attempts, row.error) == (0, "Timeout")
    apply_events(state, [ev(Events.JOB_STARTED, "b", "running", attempt=3)])
    assert state.views["running"].rows[0].attempts == 3


def test_a_row_leaving_a_window_that_does_not_reach_the_end_refetches_it() -> None:
    state = state_with(total=5, running=["a", "b"])
    effects = apply_events(state, [ev(Events.JOB_COMPLETED, "a", "completed")])
    assert ids(state, "running") == ["b"] and state.views["running"].total == 4
    assert "running" in effects.dirty and "running" in effects.changed
    whole = state_with(running=["a", "b"])
    effects = apply_events(whole, [ev(Events.JOB_COMPLETED, "a", "completed")])
    assert whole.views["running"].total == 1 and "running" not in effects.dirty


def test_the_last_row_leaving_takes_the_total_to_zero_never_below() -> None:
    state = state_with(running=["a"])
    apply_events(state, [ev(Events.JOB_COMPLETED, "a", "completed")])
    assert state.views["running"].total == 0
    odd = state_with(total=0, running=["a"])  # a window read before its count
    apply_events(odd, [ev(Events.JOB_COMPLETED, "a", "completed")])
    assert odd.views["running"].total == 0


def test_a_row_leaving_outside_the_window() -> None:
    """Not among the rows: one fewer in the list; refetched only if it may have been above."""
    below = state_with(total=10, running=["a", "b"])
    effects = apply_events(below, [ev(Events.JOB_COMPLETED, "z", "completed")])
    assert below.views["running"].total == 9 and "running" not in effects.dirty
    assert "running" in effects.changed
    above = state_with(offset=1, total=10, running=["a", "b"])
    effects = apply_events(above, [ev(Events.JOB_COMPLETED, "z", "completed")])
    assert above.views["running"].total == 9 and "running" in effects.dirty
    empty = state_with(total=0, running=[])
    apply_events(empty, [ev(Events.JOB_COMPLETED, "z", "completed")])
    assert empty.views["running"].total == 0
    filtered = state_with(total=10, running=["a"])
    filtered.views["running"].filter = "task"
    apply_events(filtered, [ev(Events.JOB_COMPLETED, "z", "completed")])
    assert filtered.views["running"].total == 10  # a filtered total is not ours to guess


def test_a_started_job_goes_to_the_end_of_running_only_when_the_window_is_there() -> None:
    state = state_with(running=["a"])
    apply_events(state, [ev(Events.JOB_STARTED, "b", "running")])
    assert ids(state, "running") == ["a", "b"]
    far = state_with(offset=3, total=5, running=["x"])  # the window ends before the list
    effects = apply_events(far, [ev(Events.JOB_STARTED, "b", "running")])
    assert ids(far, "running") == ["x"] and "running" in effects.dirty
    assert far.views["running"].total == 6
    full = state_with(running=["a", "b"])
    full.views["running"].limit = 2  # the window holds all it may
    effects = apply_events(full, [ev(Events.JOB_STARTED, "c", "running")])
    assert ids(full, "running") == ["a", "b"] and "running" in effects.dirty


def test_a_new_dead_letter_lands_on_top_unless_the_window_is_scrolled() -> None:
    state = state_with(running=["b"], dead=["old"])
    apply_events(state, [ev(Events.JOB_FAILED, "b", "failed")])
    assert ids(state, "dead") == ["b", "old"]
    scrolled = state_with(offset=2, total=3, dead=["old"])
    effects = apply_events(scrolled, [ev(Events.JOB_FAILED, "b", "failed")])
    assert ids(scrolled, "dead") == ["old"] and "dead" in effects.dirty


def test_a_retried_dead_letter_leaves_the_dead_tab() -> None:
    state = state_with(dead=["a", "b"])
    apply_events(state, [ev(Events.JOB_REQUEUED, "a", "pending", reason="retry")])
    assert ids(state, "dead") == ["b"]
    apply_events(state, [ev(Events.JOB_REQUEUED, "b", "pending", reason="stalled")])
    assert ids(state, "dead") == ["b"]  # a stalled job came from Running, not from here


@pytest.mark.parametrize(("name", "job_id"), [("send-mail", "j1"), ("x", "mail-7")])
def test_a_filtered_tab_refetches_only_for_a_job_that_matches(name: str, job_id: str) -> None:
    """By name or by id, either one."""
    for tab, status in (("pending", "pending"), ("history", "completed"), ("dead", "failed")):
        state = state_with(total=4, **{tab: ["a"]})
        state.views[tab].filter = "mail"
        kind = Events.JOB_SUBMITTED if tab == "pending" else Events.JOB_COMPLETED
        if tab == "dead":
            kind = Events.JOB_FAILED
        effects = apply_events(state, [ev(kind, job_id, status, name=name)])
        assert tab in effects.dirty, tab
        assert state.views[tab].total == 4, tab  # the filtered count is read again
        other = apply_events(state, [ev(kind, "j9", status, name="other")])
        assert tab not in other.dirty and state.views[tab].total == 4, tab


def worker(worker_id: str, concurrency: int = 2) -> WorkerRecord:
    return WorkerRecord(worker_id, "host", 1, "q", concurrency, 0, 0.0, 0.0)


def test_worker_events_change_that_worker_only() -> None:
    state = state_with()
    state.set_workers([worker("w1"), worker("w2")])
    effects = apply_events(
        state,
        [Event(Events.JOB_SERVICE_WORKERS_SCALED, 1.0, data={"worker": "w1", "concurrency": 5})],
    )
    assert [(w.id, w.concurrency) for w in state.workers] == [("w1", 5), ("w2", 2)]
    assert effects.workers and effects.header and "workers" in effects.changed
    apply_events(state, [Event(Events.JOB_SERVICE_WORKERS_PAUSED, 2.0, data={"worker": "w2"})])
    assert [w.paused for w in state.workers] == [False, True]
    assert [r.paused for r in state.views["workers"].rows] == [False, True]
    apply_events(state, [Event(Events.JOB_SERVICE_WORKERS_RESUMED, 3.0, data={"worker": "w2"})])
    assert [w.paused for w in state.workers] == [False, False]
    for data in ({"worker": "w9", "concurrency": 1}, {"worker": 7, "concurrency": 1}, {}):
        apply_events(state, [Event(Events.JOB_SERVICE_WORKERS_SCALED, 4.0, data=data)])
    apply_events(state, [Event(Events.JOB_SERVICE_WORKERS_SCALED, 4.0, data={"worker": "w2"})])
    assert [(w.id, w.concurrency) for w in state.workers] == [("w1", 5), ("w2", 2)]
    apply_events(state, [Event(Events.JOB_SERVICE_WORKERS_STOPPED, 5.0, data={"worker": "w1"})])
    assert [w.id for w in state.workers] == ["w2"] and ids(state, "workers") == ["w2"]


def test_a_pause_marks_loaded_worker_rows_and_leaves_unloaded_ones_unloaded() -> None:
    state = state_with()
    apply_events(state, [Event(Events.QUEUE_PAUSED, 1.0)])
    assert state.paused and not state.workers_loaded  # nothing read yet: nothing to mark
    state.set_workers([worker("w1")])
    apply_events(state, [Event(Events.QUEUE_PAUSED, 2.0)])
    assert [r.queue_paused for r in state.views["workers"].rows] == [True]
    apply_events(state, [Event(Events.QUEUE_RESUMED, 3.0)])
    assert [r.queue_paused for r in state.views["workers"].rows] == [False]


def test_rows_made_from_events_carry_their_status() -> None:
    state = state_with(running=["a", "b"], history=[], dead=[])
    apply_events(
        state, [ev(Events.JOB_COMPLETED, "a", "completed"), ev(Events.JOB_FAILED, "b", "failed")]
    )
    assert [(r.id, r.status) for r in state.views["history"].rows] == [("a", "completed")]
    assert [(r.id, r.status) for r in state.views["dead"].rows] == [("b", "failed")]


def test_counts_reach_zero_and_stay_there() -> None:
    state = state_with(running=["a"])
    state.depths = {"running": 1, "failed": 7}
    apply_events(
        state,
        [ev(Events.JOB_COMPLETED, "a", "completed"), ev(Events.JOB_COMPLETED, "b", "completed")],
    )
    assert state.depths["running"] == 0 and state.depths["completed"] == 2
    purge = Event(Events.JOBS_PURGED, 1.0, status="failed", data={"count": 7})
    apply_events(state, [purge, purge])  # the second one finds nothing left
    assert state.depths["failed"] == 0


def test_a_pause_is_news_for_the_header() -> None:
    effects = apply_events(state_with(), [Event(Events.QUEUE_PAUSED, 1.0)])
    assert effects.header and effects.changed == {"workers"}


def test_rows_made_from_events_carry_the_jobs_name() -> None:
    state = state_with(running=["a"], history=[])
    apply_events(state, [ev(Events.JOB_COMPLETED, "a", "completed", name="send-mail")])
    assert [(r.id, r.name) for r in state.views["history"].rows] == [("a", "send-mail")]
    apply_events(state, [Event(Events.JOB_COMPLETED, 2.0, "b", None, "completed")])
    assert state.views["history"].rows[0].name == "?"  # an event without a name
