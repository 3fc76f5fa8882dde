"""Rows of a Textual `DataTable` read again every second (Schedules, Limits), redrawn in
place: a cell that did not change is not sent again.

`DataTable.clear()` and adding every row back repaints the whole table each time (bytes
down the line every second on an idle queue, see issue 29), and puts the view back at its
left edge and the cursor on the first row: a view moved right to the Last column snapped
back within a second. When the rows are the same keys in the same order only the changed
cells are updated; otherwise the table is rebuilt, keeping its horizontal scroll and the
cursor's row.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

__all__ = ["KeyedRows"]


class KeyedRows:
    def __init__(self, table: DataTable[Text], columns: Sequence[str]) -> None:
        self.table, self.columns = table, tuple(columns)
        self.shown: list[tuple[str, list[Text]]] = []

    def show(self, rows: list[tuple[str, list[Text]]], *, cursor: str | None) -> None:
        """Show `rows` (key, cells), the cursor on the row keyed `cursor` if there is one."""
        table = self.table
        same = [key for key, _ in rows] == [key for key, _ in self.shown]
        if same and table.row_count == len(rows):
            for (key, cells), (_, before) in zip(rows, self.shown, strict=True):
                for column, cell, old in zip(self.columns, cells, before, strict=True):
                    if cell != old or cell.style != old.style:
                        wider = cell.cell_len > table.columns[ColumnKey(column)].content_width
                        table.update_cell(key, column, cell, update_width=wider)
        else:
            x = table.scroll_x
            table.clear()
            for key, cells in rows:
                table.add_row(*cells, key=key)
            keys = [key for key, _ in rows]
            if cursor in keys:
                table.move_cursor(row=keys.index(cursor), scroll=False)
            if x:
                table.call_after_refresh(table.scroll_to, x=x, animate=False, immediate=True)
        self.shown = rows
