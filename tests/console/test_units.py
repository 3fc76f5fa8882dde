"""The console's parts without a terminal: the event reducer, paging, formatting, layout."""

from __future__ import annotations

import random

import pytest

from jobdeck.console.format import bar, count, duration, sparkline
from jobdeck.console.live.paging import concat_page, merged_page
from jobdeck.console.live.reducer import apply_events, replay_onto
from jobdeck.console.live.state import ConsoleState, JobRow
from jobdeck.console.live.timeline import Timeline
from jobdeck.console.widgets.columns import COLUMNS, layout
from jobdeck.core.events import Event, Events


def ev(kind: Events, job_id: str = "", status: str = "", ts: float = 100.0, **data) -> Event:
    return Event(kind, ts, job_id or None, "task", status or None, data, id=f"{int(ts)}-0")


def state_with(**rows: list[str]) -> ConsoleState:
    state = ConsoleState(queue="q", server="memory://x")
    for tab, ids in rows.items():
        view = state.views[tab]
        view.rows = [JobRow(id=i, name="task", status=tab) for i in ids]
        view.total, view.loaded = len(ids), True
    return state


def test_a_started_job_moves_from_pending_to_running() -> None:
    state = state_with(pending=["a", "b"], running=[])
    state.depths = {"pending": 2, "running": 0}
    effects = apply_events(state, [ev(Events.JOB_STARTED, "a", "running", worker="w1", attempt=1)])
    assert [r.id for r in state.views["pending"].rows] == ["b"]
    assert [r.id for r in state.views["running"].rows] == ["a"]
    assert state.views["running"].rows[0].worker == "w1"
    assert state.depths == {"pending": 1, "running": 1}
    assert {"pending", "running"} <= effects.changed
    assert "running" not in effects.dirty  # placed exactly: no refetch needed


def test_progress_updates_the_running_row_in_place() -> None:
    state = state_with(running=["a"])
    apply_events(state, [ev(Events.JOB_PROGRESS, "a", "running", fraction=0.5, message="half")])
    row = state.views["running"].rows[0]
    assert (row.fraction, row.message) == (0.5, "half")


def test_finished_jobs_land_on_top_of_history_and_dead_letters() -> None:
    state = state_with(running=["a", "b"], history=["old"], dead=[])
    apply_events(
        state,
        [
            ev(Events.JOB_COMPLETED, "a", "completed", ts=101, runtime=1.5),
            ev(Events.JOB_FAILED, "b", "failed", ts=102, error_type="KeyError", error="x"),
        ],
    )
    assert [r.id for r in state.views["history"].rows] == ["a", "old"]
    assert state.views["history"].rows[0].runtime == 1.5
    assert [r.id for r in state.views["dead"].rows] == ["b"]
    assert state.views["dead"].rows[0].error == "KeyError: x"
    assert state.views["running"].rows == []


def test_a_submitted_job_marks_pending_for_a_refetch() -> None:
    state = state_with(pending=["a"])
    effects = apply_events(state, [ev(Events.JOB_SUBMITTED, "n", "pending", priority=3)])
    assert "pending" in effects.dirty
    assert state.views["pending"].total == 2


def test_replaying_events_onto_a_fresh_page_is_idempotent() -> None:
    state = state_with(running=["a", "b"], history=["c"])
    events = [
        ev(Events.JOB_COMPLETED, "a", "completed"),
        ev(Events.JOB_COMPLETED, "a", "completed"),
    ]
    replay_onto(state, state.views["running"], events)
    replay_onto(state, state.views["history"], events)
    assert [r.id for r in state.views["running"].rows] == ["b"]
    assert [r.id for r in state.views["history"].rows] == ["a", "c"]


def test_connection_events_and_pause() -> None:
    state = state_with()
    apply_events(state, [Event(Events.CONNECTION_LOST, 1.0, data={"error": "refused"})])
    assert state.connection == "reconnecting" and state.connection_error == "refused"
    effects = apply_events(state, [Event(Events.CONNECTION_RESTORED, 2.0)])
    assert state.connection == "connected" and effects.connection == "restored"
    apply_events(state, [Event(Events.QUEUE_PAUSED, 3.0)])
    assert state.paused


def test_the_timeline_is_bounded() -> None:
    timeline = Timeline(jobs=2, per_job=2)
    for n, job_id in enumerate(["j0", "j1", "j1", "j1", "j2"]):
        timeline.add(ev(Events.JOB_SUBMITTED, job_id, "pending", ts=n))
    assert timeline.get("j0") == []  # the oldest job is forgotten
    assert [when for when, _, _ in timeline.get("j1")] == [2, 3]  # the latest events are kept
    timeline.add(ev(Events.JOB_PROGRESS, "j2", "running"))
    assert len(timeline.get("j2")) == 1  # progress is not a step of the timeline


def _lister(rows: list[float]):
    async def fetch(offset: int, limit: int) -> list[float]:
        return rows[offset : offset + limit]

    return fetch


@pytest.mark.parametrize("seed", range(20))
async def test_merged_page_matches_a_full_merge(seed: int) -> None:
    rng = random.Random(seed)
    a = sorted((rng.randint(0, 500) for _ in range(rng.randint(0, 60))), reverse=True)
    b = sorted((rng.randint(0, 500) for _ in range(rng.randint(0, 60))), reverse=True)
    everything = sorted(a + b, reverse=True)
    for offset in (0, 1, 7, 30, 59, 100, 130):
        limit = rng.randint(1, 25)
        page = await merged_page(_lister(a), len(a), _lister(b), len(b), offset, limit, float)
        assert page == everything[offset : offset + limit], (offset, limit)


async def test_concat_page_spans_both_lists() -> None:
    first, second = list(range(10)), list(range(100, 105))
    page = await concat_page(_lister(first), 10, _lister(second), 8, 5)
    assert page == [8, 9, 100, 101, 102]
    assert await concat_page(_lister(first), 10, _lister(second), 12, 5) == [102, 103, 104]


async def test_concat_page_reads_past_places_that_are_not_rows() -> None:
    """A cancelled pending job keeps its place in its list until a claim drops it; a read
    leaves it out, so the first list answers fewer rows than the places asked for. Its last
    rows must still come before the second list's (they were lost from the page)."""
    places = ["ghost", 1, 2, 3, "ghost", "ghost", 4]  # four rows counted, seven places

    async def first(offset: int, limit: int) -> list[object]:
        return [row for row in places[offset : offset + limit] if row != "ghost"]

    assert await concat_page(first, 4, _lister([100, 101]), 0, 10) == [1, 2, 3, 4, 100, 101]
    assert await concat_page(first, 4, _lister([100]), 0, 2) == [1, 2]


async def test_merged_page_reads_single_row_probes_and_nothing_past_an_end() -> None:
    """A window deep in the merge costs one-row probes plus one read per list that still has
    rows there (the promise of paging.py: no read of everything above the window)."""
    a, b = list(range(200, 0, -2)), list(range(199, 100, -2))  # 100 evens, 50 odds
    reads: list[tuple[str, int, int]] = []

    def recording(name: str, rows: list[int]):
        async def fetch(offset: int, limit: int) -> list[int]:
            reads.append((name, offset, limit))
            return rows[offset : offset + limit]

        return fetch

    fa, fb = recording("a", a), recording("b", b)
    page = await merged_page(fa, len(a), fb, len(b), 120, 10, float)
    assert page == sorted(a + b, reverse=True)[120:130]
    probes = [r for r in reads if r[2] == 1]
    assert len(probes) <= 2 * 8 and len(reads) == len(probes) + 1  # b is used up by then
    assert all(r[0] == "a" for r in reads if r[2] == 10)
    reads.clear()
    page = await merged_page(fa, len(a), fb, len(b), 0, 10, float)
    assert page == [200, 199, 198, 197, 196, 195, 194, 193, 192, 191]
    assert reads == [("a", 0, 10), ("b", 0, 10)]


async def test_merged_page_at_the_top_reads_lists_whose_size_is_stale() -> None:
    """At offset 0 both lists are read whatever their sizes said: a list that was empty
    when counted may have rows by now, and the top of the merge must show them."""
    page = await merged_page(_lister([5, 3]), 0, _lister([4]), 1, 0, 3, float)
    assert page == [5, 4, 3]
    page = await merged_page(_lister([5]), 1, _lister([4, 2]), 0, 0, 3, float)
    assert page == [5, 4, 2]


def _recording(name: str, rows: list, reads: list[tuple[str, int, int]]):
    async def fetch(offset: int, limit: int) -> list:
        reads.append((name, offset, limit))
        return rows[offset : offset + limit]

    return fetch


async def test_concat_page_reads_exactly_what_the_window_needs() -> None:
    second = list(range(100, 110))
    cases = [
        # (rows the first list holds, its size as read, offset, limit) -> page, reads
        # (the first list is asked for the window's places: some may not be rows any more)
        ((10, 10, 8, 5), [8, 9, 100, 101, 102], [("1", 8, 5), ("2", 0, 3)]),
        ((10, 10, 10, 3), [100, 101, 102], [("2", 0, 3)]),  # the window starts at the seam
        ((10, 10, 12, 2), [102, 103], [("2", 2, 2)]),
        ((10, 10, 7, 3), [7, 8, 9], [("1", 7, 3)]),  # ends at the seam: nothing from the second
        ((10, 10, 8, 3), [8, 9, 100], [("1", 8, 3), ("2", 0, 1)]),  # one row from the second
        # the first list shrank to 6 since its size was read: the second follows what came
        ((6, 10, 8, 4), [100, 101, 102, 103], [("1", 8, 4), ("2", 0, 4)]),
        # it grew to 12: its rows past the size read come first
        ((12, 10, 8, 5), [8, 9, 10, 11, 100], [("1", 8, 5), ("2", 0, 1)]),
    ]
    for (held, first_size, offset, limit), page, expected in cases:
        reads: list[tuple[str, int, int]] = []
        first, rest = _recording("1", list(range(held)), reads), _recording("2", second, reads)
        got = await concat_page(first, first_size, rest, offset, limit)
        assert (got, reads) == (page, expected), (held, first_size, offset, limit)


@pytest.mark.parametrize("seed", range(12))
async def test_merged_page_with_ties_and_lists_that_shrank(seed: int) -> None:
    """Equal keys: `a`'s rows come first. A list that shrank since it was counted (its size
    is too big) reads as the merge of what the lists hold now."""
    rng = random.Random(seed)

    def rows(tag: str) -> list[tuple[int, str, int]]:
        keys = sorted((rng.randint(0, 12) for _ in range(rng.randint(0, 30))), reverse=True)
        return [(k, tag, i) for i, k in enumerate(keys)]

    a, b = rows("a"), rows("b")
    everything = sorted(a + b, key=lambda r: (-r[0], r[1], r[2]))
    a_size = len(a) + rng.choice((0, 0, 3))
    b_size = len(b) + rng.choice((0, 0, 2)) if a_size == len(a) else len(b)
    for offset in (0, 1, 5, 17, 29, 45, 70):
        limit = rng.randint(1, 12)
        page = await merged_page(
            _lister(a), a_size, _lister(b), b_size, offset, limit, lambda r: float(r[0])
        )
        assert page == everything[offset : offset + limit], (offset, limit, a_size, b_size)


async def test_merged_page_past_the_end_of_one_list_reads_only_the_other() -> None:
    a, b = [10, 8], [9, 7, 5, 3, 1]
    reads: list[tuple[str, int, int]] = []
    page = await merged_page(
        _recording("a", a, reads), 2, _recording("b", b, reads), 5, 4, 3, float
    )
    assert page == [5, 3, 1]
    assert [r for r in reads if r[2] == 3] == [("b", 2, 3)]


def test_formatting() -> None:
    assert duration(None) == "-"
    assert duration(0.42) == "0.4s"
    assert duration(125) == "2m05s"
    assert duration(7500) == "2h05m"
    assert count(123_456, compact=True) == "123k"
    assert count(1234) == "1,234"
    assert bar(0.5, 14) == "█████░░░░  50%"
    assert len(sparkline([1, 2, 3, 4] * 15, 30)) == 30
    assert sparkline([], 5) == "▁▁▁▁▁"


@pytest.mark.parametrize("width", [78, 100, 118, 200])
def test_columns_fit_the_width(width: int) -> None:
    for tab, columns in COLUMNS.items():
        widths = layout(columns, width)
        assert sum(widths) + len(widths) - 1 <= width, tab


def test_filter_info_says_how_far_a_search_got() -> None:
    from jobdeck.console.live.filtering import filter_info

    state = state_with(pending=["a", "b"])
    state.filter, state.depths = "x", {"pending": 1_000_000}
    view = state.views["pending"]
    view.scanned, view.capped = 5000, True
    assert filter_info(state) == "2 matches so far, searched 5,000 of 1,000,000…"
    view.capped = False
    assert filter_info(state) == "2 matches"


def test_history_rebuilds_counts_and_rows_at_a_moment() -> None:
    from jobdeck.console.timemode.past import Past

    past = Past()
    past.add_all(
        [
            ev(Events.JOB_SUBMITTED, "a", "pending", ts=100.0),
            ev(Events.JOB_SUBMITTED, "b", "pending", ts=101.0),
            ev(Events.JOB_STARTED, "a", "running", ts=105.0, worker="w1", attempt=1),
            ev(Events.JOB_FAILED, "a", "failed", ts=125.0, error_type="E", error="boom"),
            ev(Events.JOB_REQUEUED, "a", "pending", ts=140.0, reason="retry"),
        ]
    )
    live = state_with()
    live.depths = {"pending": 2, "failed": 0}
    at = past.at(110.0, live).state
    assert [r.id for r in at.views["running"].rows] == ["a"]
    assert [r.id for r in at.views["pending"].rows] == ["b"]
    assert at.depths["pending"] == 1 and at.depths["running"] == 1
    at = past.at(130.0, live).state
    assert [r.id for r in at.views["dead"].rows] == ["a"] and at.depths["failed"] == 1
    assert at.views["dead"].rows[0].error == "E: boom"
    at = past.at(141.0, live).state  # retried: open again
    assert sorted(r.id for r in at.views["pending"].rows) == ["a", "b"]
