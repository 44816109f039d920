"""The runs screen: every run, and for the highlighted one its metrics and resources."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from flows.core.store import Catalog
from tui.data import RunDetail, load_detail, load_runs

EMPTY_TEXT = "No runs yet. Start one from a shell:  autopipe run PATH --target COLUMN"


def fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


class RunsScreen(Screen[None]):
    BINDINGS = [Binding("r", "refresh", "Refresh")]

    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog
        self.runs: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Runs", classes="title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static(EMPTY_TEXT, id="empty")
        with Horizontal(id="detail"):
            with Vertical():
                yield Static("Metrics (held-out test part)", classes="title")
                yield DataTable(id="metrics")
            with Vertical():
                yield Static("Resources per stage", classes="title")
                yield DataTable(id="resources")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        table.add_columns("run", "dataset", "task", "model", "metric", "score", "baseline",
                          "seconds", "started")
        self.query_one("#resources", DataTable).add_columns(
            "stage", "wall s", "cpu s", "peak MB")
        self.action_refresh()

    def action_refresh(self) -> None:
        self.load_runs()

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def load_runs(self) -> None:
        rows = load_runs(self.catalog)
        self.app.call_from_thread(self.show_runs, rows)

    def show_runs(self, rows: list[dict[str, Any]]) -> None:
        self.runs = {row["run_id"]: row for row in rows}
        table = self.query_one("#runs", DataTable)
        table.clear()
        for row in rows:
            table.add_row(row["run_id"], row["dataset"], row["task"], row["learner"] or "",
                          row["main_metric"], fmt(row["model_score"]),
                          fmt(row["baseline_score"]), fmt(row["duration_s"], 1),
                          f"{row['started_at']:%Y-%m-%d %H:%M}", key=row["run_id"])
        self.query_one("#empty", Static).display = not rows
        self.query_one("#detail").display = bool(rows)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "runs" and event.row_key.value in self.runs:
            run = self.runs[event.row_key.value]
            self.load_detail(run["run_id"], run["main_metric"])

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def load_detail(self, run_id: str, main_metric: str) -> None:
        detail = load_detail(self.catalog, run_id, main_metric)
        self.app.call_from_thread(self.show_detail, detail)

    def show_detail(self, detail: RunDetail) -> None:
        metrics = self.query_one("#metrics", DataTable)
        metrics.clear(columns=True)
        metrics.add_columns("metric", *(f"{role} ({detail.learners[role]})"
                                        for role in detail.roles))
        for metric, by_role in detail.metrics.items():
            label = f"▶ {metric}" if metric == detail.main_metric else metric
            metrics.add_row(label, *(fmt(by_role.get(role)) for role in detail.roles))
        resources = self.query_one("#resources", DataTable)
        resources.clear()
        for stage in detail.resources:
            resources.add_row(stage["stage"], fmt(stage["wall_s"], 2), fmt(stage["cpu_s"], 2),
                              fmt(stage["peak_rss_mb"], 0))
