"""The runs screen: every recorded run with its score against the best baseline, and the runs
in progress on top, polled from their live files every second so a running run's stage and
best score so far move while you watch.

The catalog is read again only when a live run leaves its file (it was just recorded), not
on every poll: a live file is a cheap JSON read, the catalog a locked DuckDB connection.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Static
from textual.worker import Worker

from flows.core.config import Settings
from flows.core.live_runs import LiveState, live_runs
from tui.reads.runs import live_rows, merge_runs, recorded_runs
from tui.screens.start_run import StartRunModal
from tui.widgets import TableScreen, fmt

POLL_S = 1.0
STATUS_STYLE = {"completed": "green", "running": "bold yellow", "failed": "bold red",
                "stopped": "magenta"}


class RunsScreen(TableScreen):
    TITLE_TEXT = "Runs"
    EMPTY_TEXT = ("No runs yet. Press n to start one (a file and a target), or from a shell:"
                  "  autopipe run PATH --target COLUMN")
    KEY = "run_id"
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("status", "status"), ("dataset", "dataset"), ("task", "task"),
        ("metric", "main_metric"), ("score", "model_score"), ("baseline", "baseline_score"),
        ("beats", "beats"), ("model", "learner"), ("time", "duration_s"),
        ("started", "started_at"), ("run", "run_id")]
    """The score against the baseline first: what fits in 80 columns."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Detail", priority=True),
        Binding("n", "new_run", "New run"),
        Binding("x", "clear_stopped", "Clear stopped"),
    ]
    DEFAULT_CSS = """
    RunsScreen #table { height: 1fr; }
    RunsScreen #summary { height: auto; padding: 0 1; background: $boost; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.live_ids: set[str] = set()
        self.poller: Worker[None] | None = None
        self.clock = datetime.now()
        """What ages and running durations count to: read once per load or poll."""

    @property
    def settings(self) -> Settings:
        return self.app.settings  # type: ignore[attr-defined, no-any-return]

    def now(self) -> datetime:
        return self.app.now()  # type: ignore[attr-defined, no-any-return]

    def compose_detail(self) -> ComposeResult:
        yield Static("", id="summary")

    def on_mount(self) -> None:
        """(Textual runs TableScreen.on_mount first, by itself.)"""
        self.set_interval(POLL_S, self.tick)

    # -- loading ------------------------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        recorded = recorded_runs(self.catalog)
        live = live_rows(live_runs(self.settings.live_dir), self.now())
        return merge_runs(recorded, live)

    def show_rows(self, rows: list[dict[str, Any]]) -> None:
        self.clock = self.now()
        self.live_ids = {row["run_id"] for row in rows if row["live"]}
        super().show_rows(rows)

    def tick(self) -> None:
        """Poll the live files, unless the last poll is still out (a busy machine)."""
        if self.poller is None or self.poller.is_finished:
            self.poller = self.poll_live()

    @work(thread=True, group="live", exit_on_error=False)
    def poll_live(self) -> None:
        states = live_runs(self.settings.live_dir)
        self.app.call_from_thread(self.show_live, states)

    def show_live(self, states: list[LiveState]) -> None:
        """Merge the live files into the rows; redraw only when a cell changed, reload the
        catalog when a live run is gone (recorded, or its file removed)."""
        self.clock = self.now()
        live = live_rows(states, self.clock)
        if self.live_ids - {row["run_id"] for row in live}:
            self.action_refresh()
        rows = merge_runs([row for row in self.rows if not row["live"]], live)
        if [self.cells(r) for r in rows] != [self.cells(r) for r in self.rows]:
            self.show_rows(rows)

    # -- formatting ---------------------------------------------------------------------

    def cells(self, row: dict[str, Any]) -> list[Any]:
        return [_status(row), row["dataset"], row["task"] or "", row["main_metric"] or "",
                fmt(row["model_score"]), fmt(row["baseline_score"]), _beats(row["beats"]),
                row["learner"] or "", _duration(row["duration_s"]),
                _age(row["started_at"], self.clock), row["run_id"]]

    def show_detail(self) -> None:
        row = self.highlighted()
        summary = self.query_one("#summary", Static)
        summary.display = row is not None
        if row is not None:
            summary.update(_summary(row))

    # -- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter opens a run only from the table (in the filter box it ends the filter); a
        priority binding, so the footer shows it over the table's own hidden enter."""
        if action == "open":
            return isinstance(self.focused, DataTable)
        if action == "clear_stopped":
            return any(row["status"] == "stopped" for row in self.rows)
        return super().check_action(action, parameters)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """A click on the highlighted row."""
        self.action_open()

    def action_open(self) -> None:
        """The recorded run's detail; a run still in its live file has none yet."""
        row = self.highlighted()
        if row is None:
            return
        if row["live"]:
            self.notify(f"run {row['run_id']} is {row['status']}: its detail opens once it "
                        "is recorded", severity="warning", markup=False)
            return
        from tui.screens.run_detail import RunDetailScreen

        self.app.push_screen(RunDetailScreen(row["run_id"]))

    def action_new_run(self) -> None:
        self.app.push_screen(StartRunModal())

    @work(thread=True, group="reap", exclusive=True, exit_on_error=False)
    def action_clear_stopped(self) -> None:
        """Runs whose process died: the files they had written are removed, their flow runs
        marked crashed on the local Prefect server if it is running (flows/server/reaping.py)."""
        from flows.server.local_server import api_url
        from flows.server.reaping import reap_stopped_runs

        api = os.environ.get("PREFECT_API_URL") or api_url(self.settings.prefect_home)
        reaped = reap_stopped_runs(self.settings, api)
        self.app.call_from_thread(self.notify, f"cleared {len(reaped)} stopped run(s): their "
                                  "files removed, their flow runs marked crashed", markup=False)
        self.app.call_from_thread(self.action_refresh)


def _status(row: dict[str, Any]) -> Text:
    text = f"{row['status']} · {row['stage']}" if row["live"] and row["stage"] \
        else str(row["status"])
    return Text(text, style=STATUS_STYLE.get(row["status"], ""))


def _beats(value: bool | None) -> Text:
    if value is None:
        return Text("")
    return Text("yes", style="green") if value else Text("no", style="red")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    return f"{whole // 3600}h {whole % 3600 // 60:02d}m"


def _age(started: datetime | None, now: datetime) -> str:
    if started is None:
        return ""
    seconds = max(0, int((now - started).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def _summary(row: dict[str, Any]) -> str:
    """One line about the highlighted run: where it is, or what it was trained on."""
    head = f"run {row['run_id']} · {row['dataset']} → {row['target']}"
    if row["status"] == "running":
        progress = ""
        if row["elapsed_s"] is not None and row["budget_s"]:
            progress = f", {row['elapsed_s']:.0f} of {row['budget_s']:.0f} s"
        best = f"; best {row['main_metric']} {fmt(row['model_score'])} ({row['learner']})" \
            if row["model_score"] is not None else ""
        return f"{head} · running: {row['stage']}{progress}{best}"
    if row["status"] == "failed":
        return f"{head} · failed in {row['stage']}: {row['error']}"
    if row["status"] == "stopped":
        return f"{head} · stopped in {row['stage']}: its process is gone"
    return (f"{head} · budget {fmt(row['budget_s'], 0)} s, seed {row['seed']}, model "
            f"{row['model_version'] or '–'} · enter: detail")
