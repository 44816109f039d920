"""What the list screens share: a title, a filterable and sortable table, an empty-state
message, the footer; rows load in a thread worker so the UI never waits on the catalog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from flows.core.store.catalog import Catalog


def fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


class TableScreen(Screen[None]):
    """A screen around one table of rows (dicts keyed by ``KEY``). Subclasses say how to
    load rows (``load``, runs in a thread), which columns to show (``COLUMNS``: header and
    how to format a row), and may add panes below with ``compose_detail``."""

    AUTO_FOCUS = "#table"  # not the (hidden) filter box: keys act on the list
    TITLE_TEXT = ""
    EMPTY_TEXT = ""
    KEY = "id"
    COLUMNS: ClassVar[list[tuple[str, str]]] = []
    """(header, row field) per column; the row's ``cells`` override the plain value."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, Any]] = []
        self.shown: dict[str, dict[str, Any]] = {}
        self.sort_column = -1
        self.filter_text = ""

    @property
    def catalog(self) -> Catalog:
        return self.app.catalog  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.TITLE_TEXT, classes="title", id="title")
        yield Input(placeholder="filter: any text in the row (Esc clears)", id="filter")
        yield DataTable(id="table", cursor_type="row", zebra_stripes=True)
        yield Static(self.EMPTY_TEXT, id="empty")
        yield from self.compose_detail()
        yield Footer()

    def compose_detail(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#empty", Static).display = False  # until the first load says so
        self.query_one("#table", DataTable).add_columns(*(h for h, _ in self.COLUMNS))
        self.action_refresh()

    # -- loading ------------------------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def action_refresh(self) -> None:
        self.load_rows()

    @work(thread=True, exclusive=True, group="rows", exit_on_error=False)
    def load_rows(self) -> None:
        rows = self.load()
        self.app.call_from_thread(self.show_rows, rows)

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.render_rows()

    def render_rows(self) -> None:
        table = self.query_one("#table", DataTable)
        current = self.highlighted_key()
        rows = [r for r in self.rows if self.matches(r)]
        if self.sort_column >= 0:
            field = self.COLUMNS[self.sort_column][1]
            rows.sort(key=lambda r: (r.get(field) is None, _sortable(r.get(field))))
        self.shown = {str(r[self.KEY]): r for r in rows}
        fill_table(table, [h for h, _ in self.COLUMNS], [self.cells(row) for row in rows],
                   [str(row[self.KEY]) for row in rows])
        if current in self.shown:
            table.move_cursor(row=table.get_row_index(current))
        self.query_one("#empty", Static).display = not self.rows
        self.on_rows_shown()

    def on_rows_shown(self) -> None:
        """After the table changed: the highlighted row's detail follows."""
        self.show_detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "table":
            self.show_detail()

    def show_detail(self) -> None:
        """Subclasses show the highlighted row's detail in their panes."""

    def cells(self, row: dict[str, Any]) -> list[Any]:
        formatted = row.get("cells") or {}
        return [formatted.get(field, _plain(row.get(field))) for _, field in self.COLUMNS]

    def matches(self, row: dict[str, Any]) -> bool:
        if not self.filter_text:
            return True
        text = " ".join(str(c) for c in self.cells(row)).lower()
        return all(word in text for word in self.filter_text.lower().split())

    def highlighted_key(self) -> str | None:
        table = self.query_one("#table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def highlighted(self) -> dict[str, Any] | None:
        key = self.highlighted_key()
        return self.shown.get(key) if key is not None else None

    # -- filter and sort ----------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.query_one("#table", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.filter_text = event.value
            self.render_rows()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query_one("#table", DataTable).focus()

    def action_sort(self) -> None:
        """Cycle the sort column (ascending); past the last, back to the loaded order."""
        self.sort_column = self.sort_column + 1 if self.sort_column + 1 < len(self.COLUMNS) \
            else -1
        name = self.COLUMNS[self.sort_column][0] if self.sort_column >= 0 else "default order"
        self.notify(f"sorted by {name}", timeout=1.5)
        self.render_rows()


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return fmt(value)
    if hasattr(value, "strftime"):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)


def fill_table(table: DataTable[Any], headers: Sequence[str], rows: Sequence[Sequence[Any]],
               keys: Sequence[str] | None = None) -> None:
    """Replace a table's rows, its column widths taken from the content now: the table's own
    auto-sizing settles a frame later, which made snapshots race it."""
    table.clear(columns=True)
    for index, header in enumerate(headers):
        table.add_column(header, width=max([cell_len(header)]
                                           + [_width(row[index]) for row in rows]))
    for number, row in enumerate(rows):
        table.add_row(*row, key=keys[number] if keys is not None else None)


def _width(cell: Any) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))


def _sortable(value: Any) -> Any:
    return value if isinstance(value, int | float) else str(value)
