"""Start a run from the UI: choose a file (or database URI), its target column and a budget;
the train flow then runs as a child process (``autopipe run ... --json``) so the UI stays free.

The run reports itself the way every run does, through its live file and then the catalog,
so the Runs screen shows it whoever started it. The app (not this dialog, which closes at
once) polls the process and says when it ended and how.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Select
from textual.worker import get_current_worker

from flows.core.config import Settings
from flows.core.data.sources import column_names, parse_source
from flows.core.errors import AutopipeError
from flows.core.records.outcome import RunOutcome

DEFAULT_BUDGET_S = "30"
TYPING_PAUSE_S = 0.25
"""Columns are read once typing pauses, not for every half-typed path."""
POLL_S = 1.0


class StartRunModal(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    StartRunModal { align: center middle; }
    StartRunModal .dialog {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    StartRunModal .dialog-title { text-style: bold; }
    StartRunModal #target { width: 100%; }
    StartRunModal #problem { color: $error; height: auto; display: none; }
    StartRunModal Label { margin-top: 1; }
    StartRunModal .dialog-title, StartRunModal #problem { margin-top: 0; }
    StartRunModal #buttons { height: auto; margin-top: 1; }
    StartRunModal #buttons Button { margin-right: 2; }
    """

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Start a run", classes="dialog-title")
            yield Label("Data: a file path or a database URI")
            yield Input(placeholder="data/samples/titanic.csv or sqlite:///file.db?table=T",
                        id="source", compact=True)
            yield Label("", id="problem", classes="problem", markup=False)
            yield Label("Target: the column to predict")
            yield Select[str]([], prompt="(type a readable path first)", id="target",
                              disabled=True, compact=True)
            yield Label("Search budget, seconds")
            yield Input(DEFAULT_BUDGET_S, type="number", id="budget", compact=True)
            with Horizontal(id="buttons"):
                yield Button("Start (enter)", id="start", variant="primary", compact=True)
                yield Button("Cancel (esc)", id="cancel", compact=True)

    # -- the target's choices -------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "source":
            self.read_columns(event.value.strip())

    @work(thread=True, exclusive=True, group="columns", exit_on_error=False)
    def read_columns(self, text: str) -> None:
        time.sleep(TYPING_PAUSE_S)
        if get_current_worker().is_cancelled:
            return
        columns, problem = [], ""
        if text:
            try:
                columns = column_names(parse_source(text))
            except AutopipeError as exc:
                problem = exc.message
        self.app.call_from_thread(self.show_columns, text, columns, problem)

    def show_columns(self, text: str, columns: list[str], problem: str) -> None:
        if text != self.query_one("#source", Input).value.strip():
            return  # typed on since: a newer read is coming
        label = self.query_one("#problem", Label)
        label.update(problem)
        label.display = bool(problem)
        target = self.query_one("#target", Select)
        chosen = target.value
        target.set_options((name, name) for name in columns)
        target.disabled = not columns
        target.prompt = "(choose a column)" if columns else "(type a readable path first)"
        if chosen in columns:
            target.value = chosen

    # -- start ----------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "start":
            self.action_start()
        else:
            self.action_cancel()

    def action_start(self) -> None:
        source = self.query_one("#source", Input).value.strip()
        target = self.query_one("#target", Select)
        budget = self.query_one("#budget", Input).value.strip()
        problem = _check(source, target.value, budget,
                         str(self.query_one("#problem", Label).content))
        if problem:
            self.notify(problem, severity="error", markup=False)
            return
        settings: Settings = self.app.settings  # type: ignore[attr-defined]
        try:
            run = launch(settings, source, str(target.value), budget)
        except OSError as exc:  # no autopipe script, a full disk: say so, stay open
            self.notify(f"could not start the run: {exc}", severity="error", markup=False)
            return
        run.watch(self.app)
        self.notify(f"training on {source} → {target.value} in the background; it shows in "
                    f"Runs as it goes (log: {run.log_path})", markup=False)
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _check(source: str, target: object, budget: str, problem: str) -> str:
    """What stops a start, in words; empty when nothing does."""
    if not source:
        return "give a file path or a database URI"
    if problem:
        return problem
    if target == Select.NULL:
        return "choose the target column (its list fills once the data is readable)"
    try:
        if float(budget) > 0:
            return ""
    except ValueError:
        pass
    return "the budget is a number of seconds above 0"


@dataclass
class BackgroundRun:
    """A train flow running as a child process, watched by a timer on the app."""

    process: subprocess.Popen[bytes]
    log_path: Path
    label: str
    timer: Timer | None = field(default=None, repr=False)

    def watch(self, app: App[None]) -> None:
        self.timer = app.set_interval(POLL_S, lambda: self.check(app))

    def check(self, app: App[None]) -> None:
        code = self.process.poll()
        if code is None:
            return
        if self.timer is not None:
            self.timer.stop()
        outcome = RunOutcome.read(outcome_path(self.log_path))
        if code == 0 and outcome is not None and outcome.status == "completed":
            app.notify(f"run {outcome.run_id} finished: {self.label}", markup=False)
            return
        reason = " ".join(filter(None, [outcome.error, outcome.hint])) if outcome \
            else f"it ended without an outcome; see {self.log_path}"
        app.notify(f"run on {self.label} failed (exit {code}): {reason}", severity="error",
                   timeout=30, markup=False)


def launch(settings: Settings, source: str, target: str, budget: str) -> BackgroundRun:
    """Start ``autopipe run`` against this home, its output to a log file; do not wait."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.logs_dir / f"run-{datetime.now():%Y%m%d-%H%M%S-%f}.log"
    command = [*_cli(), "run", source, "--target", target, "--budget", budget, "--json",
               "--outcome", str(outcome_path(log_path))]
    with log_path.open("wb") as log:  # the child keeps its own handle
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=os.environ | {"AUTOPIPE_HOME": str(settings.root)}, start_new_session=True)
    return BackgroundRun(process, log_path, f"{source} → {target}")


def _cli() -> list[str]:
    """The ``autopipe`` script of this interpreter (flows.cli.app has no ``__main__``)."""
    script = Path(sys.executable).with_name("autopipe")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from flows.cli.app import main; main()"]


def outcome_path(log_path: Path) -> Path:
    """Where a background run writes how it ended (flows.core.records.RunOutcome)."""
    return log_path.with_suffix(".outcome.json")
