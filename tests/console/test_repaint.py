"""What the console sends when little changes: the cells that differ, and only those.

Units of `widgets.repaint` (which cells of a line changed) and `widgets.partial_update` (a
changed span goes out from where it starts, not from the widget's left edge), without a
terminal; the pty test in test_terminal_bytes.py measures the whole console."""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from jobdeck.console.widgets import partial_update
from jobdeck.console.widgets.repaint import Painted, changed_spans

BOLD, DIM = Style(bold=True), Style(dim=True)


def strip(*parts: tuple[str, Style]) -> Strip:
    return Strip([Segment(text, style) for text, style in parts])


def test_an_unchanged_line_has_no_span() -> None:
    line = strip(("pending ", DIM), ("12", BOLD))
    assert changed_spans(line, strip(("pending ", DIM), ("12", BOLD))) == []


def test_a_changed_counter_is_its_own_cells() -> None:
    tail = (("  running ", DIM), ("3", BOLD), (" " * 40, DIM))
    before = strip((" pending ", DIM), ("12", BOLD), *tail)
    after = strip((" pending ", DIM), ("13", BOLD), *tail)
    assert changed_spans(before, after) == [(10, 11)]


def test_a_new_style_alone_is_a_change() -> None:
    assert changed_spans(strip(("ab", DIM)), strip(("ab", BOLD))) == [(0, 2)]


def test_runs_close_together_go_as_one_and_far_apart_as_two() -> None:
    base = "x" * 60
    near = "y" + "x" * 3 + "y" + "x" * 55
    far = "y" + "x" * 40 + "y" + "x" * 18
    assert changed_spans(strip((base, DIM)), strip((near, DIM))) == [(0, 5)]
    assert changed_spans(strip((base, DIM)), strip((far, DIM))) == [(0, 1), (41, 42)]


def test_a_line_never_painted_is_all_changed() -> None:
    assert changed_spans(None, strip(("abc", DIM))) == [(0, 3)]


def test_wide_characters_count_two_cells() -> None:
    before = strip(("日本x", DIM))
    after = strip(("日本y", DIM))
    assert changed_spans(before, after) == [(4, 5)]


def test_painted_marks_one_region_per_changed_line_from_first_to_last_change() -> None:
    painted = Painted()
    old = [strip(("a" * 50, DIM)), strip(("b" * 50, DIM))]
    for y, line in enumerate(old):
        painted.note(y, line)
    new = [strip(("a" * 50, DIM)), strip(("c" + "b" * 40 + "c" + "b" * 8, DIM))]
    assert painted.regions(enumerate(new)) == [Region(0, 1, 42, 1)]


# -- partial updates crop on the left too ------------------------------------------------
def render(update: object) -> str:
    console = Console(color_system="truecolor", force_terminal=True, width=120)
    return update.render_segments(console)  # type: ignore[attr-defined]


def test_a_span_inside_a_line_sends_that_span_only() -> None:
    assert partial_update.install()
    line = strip((" pending ", DIM), ("13", BOLD), ("  running 3" + " " * 40, DIM))
    update = partial_update.CroppedChopsUpdate([{0: line}], [(0, 10, 11)], [[line.cell_length]])
    out = render(update)
    assert out.startswith("\x1b[1;11H")  # the cursor goes to the span, column 11
    assert "13" not in out and "3" in out and "pending" not in out and "running" not in out


def test_a_whole_piece_inside_the_span_goes_whole() -> None:
    line = strip(("abc", DIM))
    update = partial_update.CroppedChopsUpdate([{5: line}], [(0, 0, 20)], [[8]])
    assert "abc" in render(update)


def test_a_crop_never_splits_a_wide_character() -> None:
    line = strip(("日本語", DIM))
    update = partial_update.CroppedChopsUpdate([{0: line}], [(0, 3, 6)], [[6]])
    out = render(update)
    assert out.startswith("\x1b[1;3H") and "本語" in out  # from the start of 本, not its half


def test_installed_for_textuals_partial_updates() -> None:
    from textual import _compositor

    assert partial_update.install()
    assert _compositor.ChopsUpdate is partial_update.CroppedChopsUpdate
