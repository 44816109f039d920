"""The Resources screen: what each run cost, stage by stage, and how that moved over time.

The runs list comes first and fast; the stages of every run load after it in their own
worker (one catalog read per run), because the history and the comparison need them all and
the list should not wait for them. Marks (``space``) pick two runs to compare.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Label, Sparkline, Static, TabbedContent, TabPane

from tui.reads.resources import (
    MEASURES,
    StageComparison,
    StageHistory,
    compare,
    load_runs,
    load_stages,
    stage_history,
    totals,
)
from tui.screens._bars import hbar
from tui.widgets import TableScreen, fmt

MARKS = ("A", "B")
STAGE_WIDTH = 16
NUMBER_WIDTH = 7
NUMBERS_WIDTH = 3 * NUMBER_WIDTH + 7 * 2 + 2
"""Three numbers, the padding of seven cells and a scrollbar: what the stages table's bars
share the width left after, with the stage names."""
HEADERS = {"wall_s": "wall s", "cpu_s": "CPU s", "peak_rss_mb": "peak MB"}
SHORT = {"wall_s": "wall", "cpu_s": "CPU", "peak_rss_mb": "MB"}
DIGITS = {"wall_s": 2, "cpu_s": 2, "peak_rss_mb": 0}
BAR_STYLE = {"wall_s": "cyan", "cpu_s": "magenta", "peak_rss_mb": "yellow"}


class ResourcesScreen(TableScreen):
    TITLE_TEXT = "Resources: wall time, CPU and peak memory per stage"
    EMPTY_TEXT = "No runs yet. Start one from a shell:  autopipe run PATH --target COLUMN"
    KEY = "run_id"
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("", "mark"), ("run", "run_id"), ("dataset", "dataset"), ("started", "started_at"),
        ("wall s", "duration_s"), ("CPU s", "cpu_s"), ("peak MB", "peak_rss_mb")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("b", "show('stages')", "Stages", show=False),
        Binding("t", "show('history')", "Over time", show=False),
        Binding("escape", "clear_marks", "Unmark", show=False),
    ]
    DEFAULT_CSS = """
    ResourcesScreen #table { height: auto; max-height: 35%; }
    ResourcesScreen #views { height: 1fr; }
    ResourcesScreen .caption { color: $text-muted; padding: 0 1; }
    ResourcesScreen .history-row { height: 1; }
    ResourcesScreen .history-row Label { width: 10; padding: 0 1; }
    ResourcesScreen .history-row .stage { width: 16; }
    ResourcesScreen .history-row Sparkline { width: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.stages: dict[str, list[dict[str, Any]]] | None = None
        self.marks: list[str] = []

    def compose_detail(self) -> ComposeResult:
        with TabbedContent(id="views"):
            # The tabs name their keys: the footer has no room for them at 80 columns.
            with TabPane("b Stages", id="stages"):
                yield Static("", id="run-caption", classes="caption")
                yield DataTable(id="run-stages", cursor_type="none", zebra_stripes=True)
            with TabPane("t Over time", id="history"):
                yield Static("", id="history-caption", classes="caption")
                yield VerticalScroll(id="history-rows")
            with TabPane("c Compare", id="compare"):
                yield Static("Mark two runs with space, then press c (Esc clears the marks).",
                             id="compare-caption", classes="caption")
                yield DataTable(id="comparison", cursor_type="none", zebra_stripes=True)

    def on_mount(self) -> None:
        """(After TableScreen's own ``on_mount``: Textual calls each class's handler.)"""
        self.query_one("#comparison", DataTable).add_columns(
            "stage", *(f"{SHORT[m]} {part}" for m in MEASURES for part in (*MARKS, "Δ")))
        self.query_one("#table", DataTable).focus()
        self.query_one(Footer).compact = True

    # -- loading ------------------------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        rows = load_runs(self.catalog)
        for row in rows:
            row["cells"] = {"duration_s": fmt(row["duration_s"], 1)}
        return rows

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        self.stages = None
        self.marks = [m for m in self.marks if m in {r["run_id"] for r in rows}]
        super().show_rows(rows)
        self.load_all_stages([r["run_id"] for r in rows])

    @work(thread=True, exclusive=True, group="stages", exit_on_error=False)
    def load_all_stages(self, run_ids: list[str]) -> None:
        stages = load_stages(self.catalog, run_ids)
        self.app.call_from_thread(self.show_stages, stages)

    def show_stages(self, stages: dict[str, list[dict[str, Any]]]) -> None:
        self.stages = stages
        for row in self.rows:
            cost = totals(stages.get(row["run_id"], []))
            if cost["peak_rss_mb"]:
                row.update(cpu_s=cost["cpu_s"], peak_rss_mb=cost["peak_rss_mb"])
                row["cells"] |= {"cpu_s": fmt(cost["cpu_s"], 1),
                                 "peak_rss_mb": fmt(cost["peak_rss_mb"], 0)}
        self.render_rows()
        self.show_history(stage_history(self.rows, stages))

    def cells(self, row: dict[str, Any]) -> list[Any]:
        cells = super().cells(row)
        if row["run_id"] in self.marks:
            cells[0] = Text(MARKS[self.marks.index(row["run_id"])], style="bold reverse")
        return cells

    # -- the highlighted run's stages ---------------------------------------------------

    def on_rows_shown(self) -> None:
        self.query_one("#views").display = bool(self.rows)
        super().on_rows_shown()

    def on_resize(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The highlighted run's stages as numbers and bars (each measure's bars scaled to
        the run's largest stage)."""
        table = self.query_one("#run-stages", DataTable)
        caption = self.query_one("#run-caption", Static)
        table.clear()
        run = self.highlighted()
        if run is None:
            caption.update("")
            return
        if self.stages is None:
            caption.update(f"run {run['run_id']}: loading its stages…")
            return
        stages = self.stages.get(run["run_id"], [])
        if not stages:
            caption.update(f"run {run['run_id']}: no stage resources were recorded")
            return
        cost = totals(stages)
        caption.update(
            f"run {run['run_id']} · {run['dataset']} · {len(stages)} stages · "
            f"{cost['wall_s']:.1f} s on the clock, {cost['cpu_s']:.1f} s of CPU, "
            f"peak {cost['peak_rss_mb']:.0f} MB")
        names = max(len(s["stage"][:STAGE_WIDTH]) for s in stages)
        bar_width = max((self.size.width - names - NUMBERS_WIDTH) // 3, 4)
        self.layout_stages(table, names, bar_width)
        top = {m: max((s[m] or 0.0 for s in stages), default=0.0) for m in MEASURES}
        for stage in stages:
            cells: list[Any] = [stage["stage"][:STAGE_WIDTH]]
            for measure in MEASURES:
                cells.append(Text(fmt(stage[measure], DIGITS[measure]), justify="right"))
                cells.append(Text(hbar(stage[measure], top[measure], bar_width),
                                  style=BAR_STYLE[measure]))
            table.add_row(*cells)

    def layout_stages(self, table: DataTable[Any], names: int, bar_width: int) -> None:
        """Columns of fixed widths, made again only when the widths change: widths measured
        from the content lag behind a table refilled on every highlight."""
        widths = [names, *(w for _ in MEASURES for w in (NUMBER_WIDTH, bar_width))]
        if [c.width for c in table.columns.values()] == widths:
            return
        table.clear(columns=True)
        table.add_column("stage", width=names)
        for measure in MEASURES:
            table.add_column(Text(HEADERS[measure], justify="right"), width=NUMBER_WIDTH)
            table.add_column("", width=bar_width)

    # -- over time ----------------------------------------------------------------------

    def show_history(self, history: list[StageHistory]) -> None:
        """One row per stage: its wall time and its peak memory across runs, as sparklines,
        with the newest run's values."""
        box = self.query_one("#history-rows", VerticalScroll)
        box.remove_children()
        self.query_one("#history-caption", Static).update(
            "each stage across the runs that recorded it, oldest → newest: wall time and "
            "peak memory; the numbers are the newest run's" if history
            else "no stage resources recorded yet")
        box.mount_all(
            Horizontal(
                Label(item.stage[:STAGE_WIDTH], classes="stage"),
                Sparkline(list(item.wall_s), name=item.stage, classes="wall"),
                Label(f"{item.wall_s[-1]:.2f} s"),
                Sparkline(list(item.peak_rss_mb), name=item.stage, classes="peak"),
                Label(f"{item.peak_rss_mb[-1]:.0f} MB"),
                classes="history-row")
            for item in history)

    # -- marks and the comparison -------------------------------------------------------

    def action_mark(self) -> None:
        """Mark the highlighted run (a third mark replaces the oldest); again to unmark."""
        run = self.highlighted()
        if run is None:
            return
        if run["run_id"] in self.marks:
            self.marks.remove(run["run_id"])
        else:
            self.marks = [*self.marks, run["run_id"]][-len(MARKS):]
        self.render_rows()

    def action_clear_marks(self) -> None:
        self.marks = []
        self.render_rows()
        self.action_clear_filter()

    def action_compare(self) -> None:
        if len(self.marks) < len(MARKS):
            self.notify(f"Mark two runs with space first ({len(self.marks)} marked).",
                        severity="warning")
            return
        if self.stages is None:
            self.notify("The runs' stages are still loading.", severity="warning")
            return
        first, second = (self.stages.get(run_id, []) for run_id in self.marks)
        self.show_comparison(compare(first, second))
        self.action_show("compare")

    def show_comparison(self, rows: list[StageComparison]) -> None:
        runs = {r["run_id"]: r for r in self.rows}
        self.query_one("#compare-caption", Static).update(" · ".join(
            f"{mark} {run_id} {runs[run_id]['dataset'] if run_id in runs else ''}"
            for mark, run_id in zip(MARKS, self.marks, strict=True))
            + " · Δ = B − A (red: more)")
        table = self.query_one("#comparison", DataTable)
        table.clear()
        for row in rows:
            cells: list[Any] = [row.stage[:STAGE_WIDTH]]
            for measure in MEASURES:
                digits = DIGITS[measure]
                for side in (row.first, row.second):
                    value = side[measure] if side else None
                    cells.append(Text(fmt(value, digits) if side else "absent",
                                      justify="right", style="" if side else "dim"))
                cells.append(_difference(row.difference(measure), digits))
            table.add_row(*cells)

    def action_show(self, view: str) -> None:
        self.query_one("#views", TabbedContent).active = view
        self.query_one("#table", DataTable).focus()


def _difference(value: float | None, digits: int) -> Text:
    if value is None:
        return Text("–", justify="right", style="dim")
    style = "red" if value > 0 else "green" if value < 0 else ""
    return Text(f"{value:+.{digits}f}", justify="right", style=style)
