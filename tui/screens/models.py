"""The Models screen: the registry by dataset and slice, the highlighted version's model card
and its family's alias history; promote (through the same gate as ``autopipe promote``) and
roll back, each with a reason for the audit log.

The changes go through ``flows.core.registry.promotion``, the functions the CLI calls, so a
promotion made here is gated, audited and released exactly as one made in a shell. The gate
loads two models and scores them, so it runs in a worker; a refused gate is shown, and forcing
it is a second, explicit choice.
"""

from __future__ import annotations

import getpass
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Markdown, Static
from textual.worker import Worker, WorkerState

from flows.core.config import Settings
from flows.core.errors import AutopipeError
from flows.core.registry import promotion as promoting
from tui.modals import ConfirmModal, TextModal
from tui.reads.models import ModelDetail, load_detail, load_models
from tui.widgets import TableScreen, fill_table, fmt

HISTORY_COLUMNS = ("when", "action", "slice", "alias", "version", "reason", "by")


def slice_label(slice_: str) -> str:
    """'' is the global model, as in the release file."""
    return slice_ or "global"


class ModelsScreen(TableScreen):
    TITLE_TEXT = "Models: the registry by dataset and slice"
    EMPTY_TEXT = "No models yet. Train one from a shell:  autopipe run PATH --target COLUMN"
    KEY = "version"
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("version", "version"), ("dataset", "dataset"), ("slice", "slice"),
        ("aliases", "aliases"), ("learner", "learner"), ("metric", "main_metric"),
        ("score", "score"), ("created", "created_at")]
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableScreen.BINDINGS,
        Binding("p", "promote", "Promote"),
        Binding("b", "rollback", "Roll back"),
    ]
    DEFAULT_CSS = """
    ModelsScreen #table { height: auto; max-height: 45%; }
    ModelsScreen #detail { height: 1fr; }
    ModelsScreen #card-side { width: 1fr; }
    ModelsScreen #history-side { width: 1fr; }
    ModelsScreen #card-pane { height: 1fr; padding: 0 1; }
    ModelsScreen #history { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.wanted: str | None = None
        """The version whose detail was last asked for (a highlight repeats it)."""

    @property
    def settings(self) -> Settings:
        return self.app.settings  # type: ignore[attr-defined, no-any-return]

    def compose_detail(self) -> ComposeResult:
        with Horizontal(id="detail"):
            with Vertical(id="card-side"):
                yield Static("Model card", classes="title")
                with VerticalScroll(id="card-pane"):
                    yield Markdown(id="card")
            with Vertical(id="history-side"):
                yield Static("Alias history (newest first)", classes="title")
                yield DataTable(id="history", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#history", DataTable).add_columns(*HISTORY_COLUMNS)
        super().on_mount()

    # -- rows and detail ------------------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        rows = load_models(self.catalog)
        for row in rows:
            row["cells"] = {"slice": slice_label(row["slice"]), "score": fmt(row["score"])}
        return rows

    def on_rows_shown(self) -> None:
        self.query_one("#detail").display = bool(self.rows)
        row = self.highlighted()
        if row is not None:  # after a refresh the aliases may have moved: always reload
            self.wanted = row["version"]
            self.load_model_detail(row["version"], row["dataset"])

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Follow the cursor as it is now: the events a table rebuild posts arrive after it,
        naming rows the cursor has already left."""
        row = self.highlighted() if event.data_table.id == "table" else None
        if row is not None and row["version"] != self.wanted:
            self.wanted = row["version"]
            self.load_model_detail(row["version"], row["dataset"])

    @work(thread=True, group="detail", exit_on_error=False)
    def load_model_detail(self, version: str, family: str) -> None:
        """Not exclusive: a detail the cursor has left is dropped by ``show_model``."""
        self.app.call_from_thread(self.show_model, load_detail(self.catalog, version, family))

    def show_model(self, detail: ModelDetail) -> AwaitComplete:
        """Returns the card's rendering: the worker waits for it, so a pane that is shown
        is complete."""
        if detail.version != self.wanted:
            return AwaitComplete.nothing()
        self.query_one("#card-pane", VerticalScroll).scroll_home(animate=False)
        fill_table(self.query_one("#history", DataTable), HISTORY_COLUMNS, [
            (f"{event['occurred_at']:%Y-%m-%d %H:%M}", event["action"],
             slice_label(event["slice"]), event["alias"], event["version"] or "(cleared)",
             event["reason"] or "", event["actor"]) for event in detail.history])
        return self.query_one("#card", Markdown).update(detail.card)

    # -- promote and roll back ------------------------------------------------------------

    def action_promote(self) -> None:
        row = self.ready_row("promote")
        if row is None:
            return
        version = row["version"]

        def promote_with(reason: str | None) -> None:
            if reason is not None:
                self.promote(version, reason, force=False)

        self.app.push_screen(TextModal(
            f"Promote {version} to champion",
            "Why? (required: it goes to the audit log)", required=True), promote_with)

    def action_rollback(self) -> None:
        row = self.ready_row("roll back")
        if row is None:
            return
        family, slice_ = row["dataset"], row["slice"]

        def roll_back_with(reason: str | None) -> None:
            if reason is not None:
                self.roll_back(family, slice_, reason)

        self.app.push_screen(TextModal(
            f"Roll back the {slice_label(slice_)} champion of {family!r}",
            "Why? (required: it goes to the audit log)", required=True), roll_back_with)

    def ready_row(self, verb: str) -> dict[str, Any] | None:
        """The highlighted version, unless there is none or another change is running."""
        if any(w.node is self and w.group == "registry" and not w.is_finished
               for w in self.workers):
            self.notify("a registry change is still running", severity="warning")
            return None
        row = self.highlighted()
        if row is None:
            self.notify(f"no model version to {verb}", severity="warning")
        return row

    @work(thread=True, group="registry", exit_on_error=False)
    def promote(self, version: str, reason: str, force: bool) -> None:
        """Run the gate (it loads and scores two models) and promote if it passes or is
        forced; a refusal comes back as an offer to force."""
        self.app.call_from_thread(
            self.notify, f"checking {version} against the champion…", timeout=3)
        try:
            done = promoting.promote(self.settings, self.catalog, version, reason, force,
                                     getpass.getuser())
        except promoting.PromotionRefused as refused:
            self.app.call_from_thread(self.offer_force, version, reason, refused)
            return
        except AutopipeError as problem:
            self.app.call_from_thread(self.notify, str(problem), severity="error")
            return
        gate = done.gate.describe() if done.gate else "no champion before"
        self.app.call_from_thread(
            self.changed, f"{'force-promoted' if force else 'promoted'} {version} to champion "
                          f"of {done.family!r} ({gate})")

    def offer_force(self, version: str, reason: str, refused: AutopipeError) -> None:
        self.notify(refused.message, title="the gate refused the promotion",
                    severity="error", timeout=10)

        def force_if(confirmed: bool | None) -> None:
            if confirmed:
                self.promote(version, reason, force=True)

        self.app.push_screen(ConfirmModal(
            f"Promote {version} anyway? It is recorded as a forced promotion, "
            f"with your reason: {reason!r}"), force_if)

    @work(thread=True, group="registry", exit_on_error=False)
    def roll_back(self, family: str, slice_: str, reason: str) -> None:
        try:
            current, target = promoting.rollback(self.settings, self.catalog, family, slice_,
                                                 reason, getpass.getuser())
        except AutopipeError as problem:
            self.app.call_from_thread(self.notify, str(problem), severity="error")
            return
        self.app.call_from_thread(
            self.changed, f"rolled back the {slice_label(slice_)} champion of {family!r}: "
                          f"{current} -> {target}")

    def changed(self, message: str) -> None:
        self.notify(message)
        self.action_refresh()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failure nobody anticipated still reaches the person, as one line."""
        if event.state == WorkerState.ERROR and event.worker.node is self:
            self.notify(f"{event.worker.name} failed: {event.worker.error}",
                        severity="error")
