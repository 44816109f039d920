"""The Data screen: dataset versions, and for the highlighted one its analysis: the facts,
the alerts a person should read before trusting a model of it, and any column's
distribution.

An analysis is a few hundred kilobytes of JSON at most, read in a worker when a version is
highlighted (the newest highlight wins); moving between its columns only redraws.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from flows.core.types import SEVERITY_STYLE
from tui.reads.data import column_chart, column_rows, facts, how_to_profile, load_versions
from tui.screens._bars import ColumnChart
from tui.widgets import TableScreen

NAME_WIDTH = 14
TYPICAL_WIDTH = 10
VIEW_TABLES = {"alerts": "#alert-table", "columns": "#column-table"}


class DataScreen(TableScreen):
    TITLE_TEXT = "Data: dataset versions and their analysis"
    EMPTY_TEXT = ("No datasets yet. Analyse one from a shell:  autopipe profile PATH "
                  "[--target COLUMN]\n(or train on it:  autopipe run PATH --target COLUMN)")
    KEY = "content_hash"
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("dataset", "name"), ("version", "hash"), ("rows", "rows"), ("columns", "columns"),
        ("created", "created_at"), ("parent", "parent")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "show('alerts')", "Alerts"),
        Binding("c", "show('columns')", "Columns"),
        Binding("v", "versions", "Versions"),
    ]
    DEFAULT_CSS = """
    DataScreen #table { height: auto; max-height: 30%; }
    DataScreen #analysis { height: 1fr; }
    DataScreen #facts { padding: 0 1; color: $text-muted; max-height: 3; }
    DataScreen #views { height: 1fr; }
    DataScreen #column-pane { height: 1fr; }
    DataScreen #column-table { width: 46; height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.profile: dict[str, Any] | None = None
        self.wanted: str | None = None
        """The version whose analysis is shown or on its way."""

    def compose_detail(self) -> ComposeResult:
        with Vertical(id="analysis"):
            yield Static("", id="facts")
            with TabbedContent(id="views"):
                with TabPane("a Alerts", id="alerts"):
                    yield DataTable(id="alert-table", cursor_type="row", zebra_stripes=True)
                with TabPane("c Columns", id="columns"), Horizontal(id="column-pane"):
                    yield DataTable(id="column-table", cursor_type="row", zebra_stripes=True)
                    yield ColumnChart("no distribution recorded for this column", id="chart")

    def on_mount(self) -> None:
        """(After TableScreen's own ``on_mount``: Textual calls each class's handler.)"""
        self.query_one("#alert-table", DataTable).add_columns(
            "severity", "kind", "column", "what it means")
        self.query_one("#column-table", DataTable).add_columns(
            "column", "kind", "missing", "mean / top")
        self.query_one(Footer).compact = True
        self.query_one("#table", DataTable).focus()

    # -- versions -----------------------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        return load_versions(self.catalog)

    def action_refresh(self) -> None:
        self.wanted = None  # the highlighted version may have been analysed since
        super().action_refresh()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "column-table":
            self.show_column()
        else:
            super().on_data_table_row_highlighted(event)

    def show_detail(self) -> None:
        """The highlighted version's analysis (loaded once per version)."""
        version = self.highlighted()
        self.query_one("#analysis").display = version is not None
        if version is not None and version["content_hash"] != self.wanted:
            self.wanted = version["content_hash"]
            self.query_one("#facts", Static).update(f"{version['name']}: loading…")
            self.load_profile(version["content_hash"])

    @work(thread=True, exclusive=True, group="profile", exit_on_error=False)
    def load_profile(self, content_hash: str) -> None:
        profile = self.catalog.profile(content_hash)
        self.app.call_from_thread(self.show_profile, content_hash, profile)

    # -- the analysis -------------------------------------------------------------------

    def show_profile(self, content_hash: str, profile: dict[str, Any] | None) -> None:
        version = self.shown.get(content_hash)
        if version is None or content_hash != self.wanted:
            return
        self.profile = profile
        views = self.query_one("#views", TabbedContent)
        views.display = profile is not None
        if profile is None:
            self.query_one("#facts", Static).update(how_to_profile(version["source"]))
            return
        lines = facts(profile)
        self.query_one("#facts", Static).update(
            "\n".join([f"{version['name']}: {lines[0]}", *lines[1:]]))
        alerts = self.query_one("#alert-table", DataTable)
        alerts.clear()
        for alert in profile.get("alerts") or []:
            alerts.add_row(Text(alert["severity"], style=SEVERITY_STYLE.get(alert["severity"], "")),
                           alert["kind"], alert["column"] or "", alert["message"])
        if not alerts.row_count:
            alerts.add_row("", "", "", Text("none: nothing in this data stood out",
                                            style="dim"))
        columns = self.query_one("#column-table", DataTable)
        columns.clear()
        for row in column_rows(profile):
            columns.add_row(row["name"][:NAME_WIDTH], row["kind"],
                            Text(f"{row['missing_share']:.1%}", justify="right"),
                            str(row["typical"])[:TYPICAL_WIDTH], key=row["name"])
        self.show_column()

    def show_column(self) -> None:
        """The highlighted column's histogram, or its most frequent values."""
        chart = self.query_one("#chart", ColumnChart)
        table = self.query_one("#column-table", DataTable)
        if self.profile is None or not table.row_count:
            chart.show(None)
            return
        name = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        chart.show(column_chart(self.profile["columns"][name]))

    # -- keys ---------------------------------------------------------------------------

    def action_show(self, view: str) -> None:
        """Open the alerts or the columns, which then take the keys (up/down picks the
        charted column) until Esc or v gives them back to the versions."""
        if self.profile is None:
            return
        self.query_one("#views", TabbedContent).active = view
        self.query_one(VIEW_TABLES[view], DataTable).focus()

    def action_versions(self) -> None:
        self.query_one("#table", DataTable).focus()
