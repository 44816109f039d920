"""One run in full: its headline, metrics against the baselines, the search leaderboard, the
slices, and charts drawn in the terminal; ``o`` opens the run's HTML report.

Four tabs rather than one long page, so each part fits an 80x24 terminal. The whole run is
read once, in a thread worker (catalog rows, the model card, the held-out predictions); the
report is written on first use in a worker too, since building it draws a dozen SVG charts.
"""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from flows.core.errors import AutopipeError
from flows.core.reports.files import run_report_path, write_run_report
from flows.core.store.catalog import Catalog
from tui import charts
from tui.reads.run_detail import RunDetail, load_run_detail
from tui.widgets import fmt

TABS = ("summary", "leaderboard", "slices", "charts")


def open_report(path: Path) -> bool:
    """Show a report in the default browser; False when there is none. Tests replace it."""
    return webbrowser.open(path.as_uri())


class RunDetailScreen(Screen[None]):
    """Pushed by the runs screen for a recorded run; Esc goes back to the list."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("o", "open_report", "Report"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab"),
        Binding("right_square_bracket", "tab(1)", "Next tab"),
    ]
    DEFAULT_CSS = """
    RunDetailScreen #headline { padding: 0 1; background: $boost; }
    RunDetailScreen #tabs, RunDetailScreen ContentSwitcher { height: 1fr; }
    RunDetailScreen TabPane { padding: 0; height: 1fr; }
    RunDetailScreen DataTable { height: auto; max-height: 100%; }
    RunDetailScreen .section { padding: 0 1; text-style: bold; margin-top: 1; }
    RunDetailScreen .note { padding: 0 1; color: $text-muted; }
    RunDetailScreen #charts-grid { grid-size: 1; grid-rows: auto; height: auto; }
    RunDetailScreen.-wide #charts-grid { grid-size: 2; grid-gutter: 1 2; }
    RunDetailScreen #charts-grid PlotextPlot { height: 16; }
    RunDetailScreen #confusion-box, RunDetailScreen BarChart { height: auto; }
    """

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id

    @property
    def catalog(self) -> Catalog:
        return self.app.catalog  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"run {self.run_id}: loading…", id="headline")
        with TabbedContent(id="tabs"):
            with TabPane("Summary", id="summary"), VerticalScroll():
                yield DataTable(id="metrics", cursor_type="row", zebra_stripes=True)
                yield Static("", id="facts", classes="note")
            with TabPane("Leaderboard", id="leaderboard"), VerticalScroll():
                yield Static("Search: best validation loss per learner", classes="section")
                yield DataTable(id="learners", cursor_type="row", zebra_stripes=True)
                yield Static("Candidates compared on validation rows", classes="section")
                yield Static("", id="integration", classes="note")
                yield DataTable(id="candidates", cursor_type="row", zebra_stripes=True)
            with TabPane("Slices", id="slices"), VerticalScroll():
                yield DataTable(id="slice-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="slice-note", classes="note")
            with TabPane("Charts", id="charts"), VerticalScroll(), Grid(id="charts-grid"):
                yield PlotextPlot(id="search-chart")
                yield PlotextPlot(id="quality-chart")
                with Vertical(id="confusion-box"):
                    yield Static("Confusion matrix (rows: true, columns: predicted)",
                                 classes="section")
                    yield DataTable(id="confusion", cursor_type="none")
                yield charts.BarChart(id="importance-chart")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    # -- loading ------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def load(self) -> None:
        try:
            detail = load_run_detail(self.catalog, self.run_id)
        except AutopipeError as error:
            self.app.call_from_thread(self.show_error, error)
            return
        self.app.call_from_thread(self.show, detail)

    def show_error(self, error: AutopipeError) -> None:
        self.query_one("#headline", Static).update(Text(f"run {self.run_id}: {error.message}"))
        self.notify(str(error), severity="error", markup=False)

    def show(self, detail: RunDetail) -> None:
        self.query_one("#headline", Static).update(headline(detail))
        self.show_summary(detail)
        self.show_leaderboard(detail)
        self.show_slices(detail)
        self.show_charts(detail)

    def show_summary(self, detail: RunDetail) -> None:
        table = self.query_one("#metrics", DataTable)
        table.clear(columns=True)
        table.add_columns("metric", "model", "95% interval", *detail.baseline_roles)
        for row in detail.metrics:
            style = "" if row.beats_baselines is None else \
                "green" if row.beats_baselines else "red"
            interval = f"{fmt(row.interval[0])} – {fmt(row.interval[1])}" if row.interval \
                else "–"
            name = f"▶ {row.metric}" if row.metric == detail.main_metric else row.metric
            table.add_row(name, Text(fmt(row.model), style=style), interval,
                          *(fmt(value) for value in row.baselines), key=row.metric)
        trials = sum(learner.trials for learner in detail.learners)
        baselines = ", ".join(f"{role}: {learner}" for role, learner in
                              zip(detail.baseline_roles, detail.baseline_learners, strict=True))
        self.query_one("#facts", Static).update(Text(
            f"green: the model beats every baseline on the metric, red: it does not\n"
            f"baselines: {baselines}\n"
            f"{fmt(detail.duration_s, 1)} s (budget {fmt(detail.budget_s, 0)} s) · "
            f"{trials} trial{'' if trials == 1 else 's'} · {detail.training_rows or 0:,} "
            f"training / {detail.test_rows or 0:,} test rows · "
            f"{detail.validation or '–'}\nchosen: {detail.integration}"))

    def show_leaderboard(self, detail: RunDetail) -> None:
        learners = self.query_one("#learners", DataTable)
        learners.clear(columns=True)
        learners.add_columns("learner", "trials", "best val loss", "seconds")
        for learner in detail.learners:
            learners.add_row(learner.learner, learner.trials, fmt(learner.best_loss),
                             fmt(learner.seconds, 1), key=learner.learner)
        self.query_one("#integration", Static).update(Text(f"chosen: {detail.integration}"))
        table = self.query_one("#candidates", DataTable)
        table.clear(columns=True)
        table.add_columns("candidate", "learner", "out-of-fold loss", "fit s", "1-row ms",
                          "weight", "")
        for row in detail.candidates:
            table.add_row(row.name, row.learner, fmt(row.validation_loss),
                          fmt(row.fit_s, 2), fmt(row.latency_ms, 2), fmt(row.weight, 3),
                          Text(row.role, style="bold green" if row.role == "chosen" else ""),
                          key=row.name)

    def show_slices(self, detail: RunDetail) -> None:
        table = self.query_one("#slice-table", DataTable)
        table.clear(columns=True)
        metric = detail.main_metric
        table.add_columns("slice", "served by", f"own {metric}", f"global {metric}", "gain",
                          "note")
        for row in detail.slices:
            table.add_row(row.name, row.served_by, fmt(row.own), fmt(row.shared),
                          Text(fmt(row.gain), style="" if row.gain is None else
                               "green" if row.gain > 0 else "red"),
                          row.note, key=row.name)
        table.display = bool(detail.slices)
        self.query_one("#slice-note", Static).update(
            "each slice's own model against the global one on the slice's held-out rows; "
            "gain > 0: the own model is better" if detail.slices else
            "This run was not sliced. Train one model per slice with: "
            "autopipe run PATH --target COLUMN --slice-by COLUMN")

    def show_charts(self, detail: RunDetail) -> None:
        series = detail.charts
        charts.steps(self.query_one("#search-chart", PlotextPlot), series.best_so_far.x,
                     series.best_so_far.y, "Best out-of-fold loss over the run",
                     "seconds", points=(series.trials.x, series.trials.y))
        quality = self.query_one("#quality-chart", PlotextPlot)
        if detail.task == "regression":
            residuals = series.residuals
            charts.scatter(quality, residuals.x if residuals else (),
                           residuals.y if residuals else (), "Residuals (actual - predicted)",
                           "predicted", horizontal_line=0.0)
        else:
            charts.lines(quality, {name: (c.x, c.y) for name, c in series.roc.items()},
                         "ROC curve" + (" per class" if detail.task == "multiclass" else ""),
                         "false positive rate", diagonal=True)
        self.query_one("#confusion-box").display = bool(series.classes)
        confusion = self.query_one("#confusion", DataTable)
        confusion.clear(columns=True)
        confusion.add_columns("true \\ predicted", *series.classes)
        for label, counts in zip(series.classes, series.confusion, strict=True):
            confusion.add_row(label, *counts, key=label)
        self.query_one("#importance-chart", charts.BarChart).show(
            [name for name, _ in series.importance], [value for _, value in series.importance],
            "Permutation importance", "held-out loss added when the column is shuffled")

    # -- actions ------------------------------------------------------------------------

    def action_tab(self, step: int) -> None:
        tabs = self.query_one("#tabs", TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + step) % len(TABS)]

    def action_open_report(self) -> None:
        self.notify("opening the run report…", timeout=2)
        self.open_run_report()

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def open_run_report(self) -> None:
        """Write the report if it is missing (a fixed or copied home has none), then open
        it."""
        reports_dir = self.app.settings.reports_dir  # type: ignore[attr-defined]
        path = run_report_path(reports_dir, self.run_id)
        try:
            if not path.exists():
                write_run_report(self.catalog, self.run_id, reports_dir)
        except AutopipeError as error:
            self.app.call_from_thread(self.notify, str(error), severity="error", markup=False)
            return
        if open_report(path):
            self.app.call_from_thread(self.notify, f"report: {path}", markup=False)
        else:
            self.app.call_from_thread(self.notify, f"no browser found; the report is {path}",
                                      severity="warning", markup=False)


def headline(detail: RunDetail) -> Text:
    """Run, data, model, and the main metric against the best baseline, on one line."""
    verdict = detail.beats_baseline
    return Text.assemble(
        (f"{detail.dataset} → {detail.target}", "bold"), f" ({detail.task}) · run ",
        (detail.run_id, "bold"), " · ", (detail.learner or "no model", "bold"),
        f" · {detail.main_metric} ", (fmt(detail.model_score), "bold"),
        f" vs best baseline {fmt(detail.baseline_score)}",
        ("" if verdict is None else ": better" if verdict else ": not better",
         "green" if verdict else "red"))
