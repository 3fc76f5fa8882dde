"""A virtual table: a scroll bar over the whole list, rows only for the window on screen.

The table is told (attributes down) which slice of the list it holds (`show`) and how long
the list is; it draws the visible lines from that slice and placeholders for rows it does not
hold yet. When scrolling or the cursor moves outside the slice it posts `WindowChanged`
(messages up) and the app fetches that page. The cursor follows the selected job when rows
shift under it, so the job an operator is looking at stays selected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from jobdeck.core.text import display_text

from .columns import Column, layout
from .repaint import Painted

__all__ = ["JobTable"]

_TONES = ("error", "warning", "ok", "dim")


class JobTable(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Details", key_display="⏎"),
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("space", "mark", "Select", key_display="space"),
        Binding("shift+up", "mark_move(-1)", "Select up", show=False),
        Binding("shift+down", "mark_move(1)", "Select down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "job-table--header",
        "job-table--cursor",
        "job-table--placeholder",
        "job-table--empty",
        "job-table--marked",
        *(f"job-table--{tone}" for tone in _TONES),
    }

    class WindowChanged(Message):
        """The rows on screen are not all in the window the table holds."""

        def __init__(self, table: JobTable, offset: int, limit: int) -> None:
            super().__init__()
            self.table, self.offset, self.limit = table, offset, limit

    class Opened(Message):
        """Enter on a row."""

        def __init__(self, table: JobTable, row: Any) -> None:
            super().__init__()
            self.table, self.row = table, row

    class Marked(Message):
        """Space (toggle the row) or shift+arrows (select the row, then move)."""

        def __init__(self, table: JobTable, row: Any, toggle: bool) -> None:
            super().__init__()
            self.table, self.row, self.toggle = table, row, toggle

    class CursorMoved(Message):
        def __init__(self, table: JobTable, row: Any) -> None:
            super().__init__()
            self.table, self.row = table, row

    def __init__(
        self,
        tab: str,
        columns: tuple[Column, ...],
        *,
        clock: Callable[[], float],
        empty: str = "nothing here",
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.tab = tab
        self.columns = columns
        self.clock = clock  # server time, for ages and elapsed times
        self.empty_text = empty
        self.loading_text = "loading…"  # the app says when it is waiting for the server
        self.window_offset = 0
        self.rows: Sequence[Any] = ()
        self.total = 0
        self.loaded = False
        self.cursor = 0
        self.marked: Mapping[str, Any] = {}  # the multi-selection, handed down by the app
        self._selected_id: str | None = None
        self._requested: tuple[int, int] | None = None
        self._widths: list[int] = []
        self._widths_for = -1
        self.painted = Painted()

    # -- attributes down -----------------------------------------------------------------
    def show(self, offset: int, rows: Sequence[Any], total: int) -> None:
        """Hold rows `offset .. offset+len(rows)` of a list `total` rows long.

        The cursor follows the selected row if it moved within the window; a cursor on the
        last row stays on the last row (like `tail -f`); otherwise it keeps its place."""
        at_end = self.loaded and self.total > 1 and self.cursor >= self.total - 1
        was_fetching = self.fetching
        self.window_offset, self.rows, self.total = offset, rows, max(total, offset + len(rows))
        self.loaded = True
        self._requested = None
        found = False
        if self._selected_id is not None:
            for index, row in enumerate(rows):
                if row.id == self._selected_id:
                    self.cursor, found = offset + index, True
                    break
        if at_end and not found:
            self.cursor = self.total - 1
        self.cursor = max(0, min(self.cursor, self.total - 1))
        self._set_height(self.total + 1)
        self._remember_selection()
        self._follow_cursor()
        self._check_window()
        self.redraw()
        if was_fetching and not self.fetching:  # the row under the cursor came in
            self.post_message(self.CursorMoved(self, self.selected))

    def reset(self) -> None:
        """Forget the rows (a new filter): show "loading…" until the next `show`."""
        self.window_offset, self.rows, self.total, self.loaded = 0, (), 0, False
        self.cursor, self._selected_id, self._requested = 0, None, None
        self._set_height(1)
        self.scroll_to(y=0, animate=False, force=True)
        self.refresh()

    def _set_height(self, lines: int, width: int | None = None) -> None:
        """A new virtual height without a screen layout: the list length changes with
        nearly every event, and a layout of the whole screen each time costs far more than
        the table. The vertical scroll bar is always shown (CSS), so no layout is needed:
        only the scroll bar and the scroll range follow (and no repaint: the lines that
        change are redrawn by whoever changed them)."""
        size = Size(self.size.width if width is None else width, lines)
        if size == self.virtual_size:
            return
        before = self.virtual_size.height
        self.set_reactive(JobTable.virtual_size, size)
        bar = self.vertical_scrollbar
        if bar.window_size and _thumb(bar, before) == _thumb(bar, lines):
            # The scroll bar would look the same (a list shorter than the screen has no
            # thumb; a long one moves it by less than an eighth of a cell): only its range
            # changes, and the 35 cells of the bar are not sent again.
            bar.set_reactive(ScrollBar.window_virtual_size, lines)
            self.scroll_y = self.validate_scroll_y(self.scroll_y)
            return
        self._scroll_update(size)  # Widget's own hook for a new virtual size

    @property
    def selected(self) -> Any | None:
        """The row under the cursor, if the table holds it."""
        index = self.cursor - self.window_offset
        if self.total and 0 <= index < len(self.rows):
            return self.rows[index]
        return None

    @property
    def fetching(self) -> bool:
        """The cursor is on a row of the list that the table does not hold yet."""
        return self.loaded and self.total > 0 and self.selected is None

    @property
    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    # -- keys ----------------------------------------------------------------------------
    def action_move(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(1, self.visible_rows - 1))

    def action_jump(self, where: int) -> None:
        self._move_to(self.total - 1 if where < 0 else where)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "mark", "mark_move"):
            return self.tab != "workers"
        return True

    def action_mark(self) -> None:
        row = self.selected
        if row is not None:
            self.post_message(self.Marked(self, row, toggle=True))

    def action_mark_move(self, delta: int) -> None:
        row = self.selected
        if row is not None:
            self.post_message(self.Marked(self, row, toggle=False))
        self._move_to(self.cursor + delta)
        row = self.selected
        if row is not None:
            self.post_message(self.Marked(self, row, toggle=False))

    def action_open(self) -> None:
        row = self.selected
        if row is not None:
            self.post_message(self.Opened(self, row))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)  # the event's y is the widget's, not ours
        if offset is None:
            return
        y = offset.y
        if y >= 1:
            self._move_to(int(self.scroll_y) + y - 1)
            if event.chain >= 2:
                self.action_open()

    def _move_to(self, index: int) -> None:
        index = max(0, min(index, self.total - 1))
        if index == self.cursor:
            return
        self.cursor = index
        self._remember_selection()
        self._follow_cursor()
        self._check_window()
        self.redraw()
        self.post_message(self.CursorMoved(self, self.selected))

    def _remember_selection(self) -> None:
        row = self.selected
        self._selected_id = row.id if row is not None else None

    def _follow_cursor(self) -> None:
        top, height = int(self.scroll_y), self.visible_rows
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, force=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, force=True)

    # -- windowing -----------------------------------------------------------------------
    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._check_window(top=int(new))

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # The layout hands a childless scroll view the size of its container as its virtual
        # size, never the list's length (ours): Textual then took every layout of the screen
        # (a footer of new keys) for a new scroll range and repainted the bar (~1.6 KB).
        return super()._size_updated(size, self.virtual_size, container_size, layout)

    def _on_resize(self, event: events.Resize) -> None:
        # A new size repaints the table whole already (the layout that resized it did);
        # setting the reactive would repaint it again, and a Resize also comes when only
        # the container changed.
        self._set_height(self.total + 1, event.size.width)
        self._check_window()

    def _check_window(self, top: int | None = None) -> None:
        """Ask for the page around the screen if the screen shows rows we do not hold."""
        if not self.loaded:
            return
        top = int(self.scroll_y) if top is None else top
        height = self.visible_rows
        bottom = min(self.total, top + height)
        held_end = self.window_offset + len(self.rows)
        if top >= self.window_offset and (bottom <= held_end or held_end >= self.total):
            return
        limit = height * 3
        offset = max(0, top - height)
        if self._requested != (offset, limit):
            self._requested = (offset, limit)
            self.post_message(self.WindowChanged(self, offset, limit))

    # -- drawing -------------------------------------------------------------------------
    def redraw(self) -> None:
        """Show the rows as they are now (ages move on, rows come and go): only the cells
        that differ from the screen are sent (see `repaint`)."""
        if not self.is_attached or not self.region:
            self.refresh()  # not on screen: drawn whole when it comes back
            return
        lines = ((y, self._line(y)) for y in range(self.scrollable_content_region.height))
        for region in self.painted.regions(lines):
            self.refresh(region)

    def render_line(self, y: int) -> Strip:
        return self.painted.note(y, self._line(y))

    def _line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if width != self._widths_for:
            self._widths, self._widths_for = layout(self.columns, width), width
        if y == 0:
            cells = [c.label for c in self.columns]
            style = base + self.get_component_rich_style("job-table--header")
            return self._strip(cells, [None] * len(cells), style, width)
        index = int(self.scroll_y) + y - 1
        if index >= self.total:
            if self.total == 0 and y == 1:
                style = base + self.get_component_rich_style("job-table--empty")
                text = f"  {self.loading_text if not self.loaded else self.empty_text}"
                return Strip([Segment(text, style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        row = self._row(index)
        cursor = index == self.cursor
        if row is None:
            style = base + self.get_component_rich_style("job-table--placeholder")
            cells = ["…"] + [""] * (len(self.columns) - 1)
            return self._strip(cells, [None] * len(cells), style, width, cursor)
        now = self.clock()
        cells = [c.text(row, now, size) for c, size in zip(self.columns, self._widths, strict=True)]
        tones = [column.tone(row) if column.tone else None for column in self.columns]
        if self.marked and row.id in self.marked:
            cells[0] = "✔" + self.columns[0].text(row, now, self._widths[0] - 1)
            base = base + self.get_component_rich_style("job-table--marked")
        return self._strip(cells, tones, base, width, cursor)

    def _row(self, index: int) -> Any | None:
        local = index - self.window_offset
        return self.rows[local] if 0 <= local < len(self.rows) else None

    def _strip(
        self,
        cells: list[str],
        tones: list[str | None],
        style: Style,
        width: int,
        cursor: bool = False,
    ) -> Strip:
        # Neighbouring cells of one style go out as one segment: the terminal is sent one
        # set of colours per run instead of one per cell (and per spacer).
        runs: list[tuple[str, Style]] = []
        for i, (text, tone, column, size) in enumerate(
            zip(cells, tones, self.columns, self._widths, strict=True)
        ):
            text = _fit(text, size, column.right)
            cell_style = style
            if tone is not None:
                cell_style = style + self.get_component_rich_style(f"job-table--{tone}")
            if i:
                _add(runs, " ", style)
            _add(runs, text, cell_style)
        segments = [Segment(text, run_style) for text, run_style in runs]
        if cursor:
            post = self.get_component_rich_style("job-table--cursor")
            segments = list(Segment.apply_style(segments, post_style=post))
            return Strip(segments).crop_extend(0, width, style + post)
        return Strip(segments).crop_extend(0, width, style)


def _thumb(bar: ScrollBar, virtual: int) -> list[Segment]:
    """The scroll bar as Textual would draw it for a list `virtual` lines long."""
    window = bar.window_size if bar.window_size < virtual else 0
    drawn = ScrollBarRender.render_bar(
        size=bar.size.height,
        virtual_size=virtual,
        window_size=window,
        position=bar.position,
        thickness=bar.thickness,
    )
    return list(drawn.segments)


def _add(runs: list[tuple[str, Style]], text: str, style: Style) -> None:
    if runs and runs[-1][1] == style:
        runs[-1] = (runs[-1][0] + text, style)
    else:
        runs.append((text, style))


def _fit(text: str, size: int, right: bool) -> str:
    """`text` on one line in exactly `size` cells: cut with an ellipsis, or padded.

    Cells are data (names, errors, worker ids): they go straight to the terminal as segments,
    so `display_text` makes every control, bidi or zero-width character visible first."""
    if "\n" in text or "\t" in text:
        text = " ".join(text.split())
    text = display_text(text, limit=size + 1)
    length = cell_len(text)
    if length > size:
        return set_cell_size(text, size - 1) + "…" if size > 0 else ""
    pad = " " * (size - length)
    return pad + text if right else text + pad
