"""The Review screen: walk the queue of predictions a person should check, and confirm,
correct or skip each one with the record, its answer and its explanation in view.

The model behind an entry is loaded in a worker (once per version) both to explain the
entry and to offer its classes for a correction; every decision is stored through
``Catalog.decide_review`` in a worker, and the entry then leaves the pending list at once.
The Alerts screen opens this one filtered to an alert's entries (``show_alert_queue``).
"""

from __future__ import annotations

import getpass
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from flows.core.errors import AutopipeError
from flows.core.evaluation.explain import Explanation
from flows.core.monitoring.review import explain_entry, parse_label
from flows.core.registry.model import FittedModel
from tui.modals import ChoiceModal, TextModal
from tui.reads.review import load_entry_model, load_queue
from tui.widgets import TableScreen, fmt

EXPLAINED_FIELDS = 6
BAR_WIDTH = 10


def show_alert_queue(app: App[Any], alert_id: str) -> None:
    """Switch to the Review screen showing only the entries queued for ``alert_id``."""
    app.switch_mode("review")
    screen = app.screen_stack[0]
    if isinstance(screen, ReviewScreen):
        screen.show_alert(alert_id)


class ReviewScreen(TableScreen):
    TITLE_TEXT = "Review queue"
    EMPTY_TEXT = ("The review queue is empty. It fills from served predictions: serve a "
                  "model (autopipe serve), then run  autopipe monitor")
    KEY = "key"
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("reason", "reason"), ("confidence", "confidence"), ("prediction", "prediction"),
        ("model", "model_version"), ("slice", "slice"), ("logged", "logged_at"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "decide('confirmed')", "Confirm"),
        Binding("w", "correct", "Correct"),
        Binding("k", "decide('skipped')", "Skip"),
    ]
    DEFAULT_CSS = """
    ReviewScreen #table { height: 1fr; }
    ReviewScreen #review-detail { height: 2fr; border-top: solid $primary; }
    ReviewScreen #record { width: 1fr; }
    ReviewScreen #answer-pane { width: 1fr; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.alert_filter: str | None = None
        self.explanations: dict[str, Explanation] = {}
        self.explaining: set[str] = set()
        """Entries whose explanation a worker is computing (never started twice)."""

    def compose_detail(self) -> ComposeResult:
        with Horizontal(id="review-detail"):
            yield DataTable(id="record", cursor_type="row", show_cursor=False)
            with VerticalScroll(id="answer-pane"):
                yield Static(id="answer")
                yield Static(id="explanation")

    def on_mount(self) -> None:  # Textual calls TableScreen.on_mount as well: no super()
        self.query_one("#record", DataTable).add_columns("field", "value")
        self.show_title()

    # -- rows and the alert filter ------------------------------------------------------

    def load(self) -> list[dict[str, Any]]:
        rows = load_queue(self.catalog)
        for row in rows:
            row["cells"] = {"confidence": fmt(row["confidence"], 2),
                            "prediction": str(row["prediction"])}
        return rows

    def matches(self, row: dict[str, Any]) -> bool:
        if self.alert_filter is not None and row["alert_id"] != self.alert_filter:
            return False
        return super().matches(row)

    def show_alert(self, alert_id: str) -> None:
        """Show only the entries queued because of ``alert_id`` (Esc shows all again)."""
        self.alert_filter = alert_id
        if self.is_mounted:
            self.show_title()
            self.action_refresh()

    def action_clear_filter(self) -> None:
        super().action_clear_filter()
        if self.alert_filter is not None:
            self.alert_filter = None
            self.show_title()
            self.render_rows()

    def show_title(self) -> None:
        title = self.TITLE_TEXT
        if self.alert_filter is not None:
            title += f" · alert {self.alert_filter} (Esc shows every entry)"
        self.query_one("#title", Static).update(title)

    # -- detail -------------------------------------------------------------------------

    def show_detail(self) -> None:
        entry = self.highlighted()
        self.query_one("#review-detail").display = entry is not None
        if entry is None:
            return
        record = self.query_one("#record", DataTable)
        record.clear()
        for name, value in entry["record"].items():
            record.add_row(name, "–" if value is None else str(value))
        self.query_one("#answer", Static).update(describe(entry))
        explanation = self.query_one("#explanation", Static)
        if entry["key"] in self.explanations:
            explanation.update(explain_text(self.explanations[entry["key"]]))
        else:
            explanation.update(Text("explaining…", style="dim"))
            if entry["key"] not in self.explaining:
                self.explaining.add(entry["key"])
                self.load_explanation(entry)

    @work(thread=True, group="explain", exit_on_error=False)
    def load_explanation(self, entry: dict[str, Any]) -> None:
        try:
            model = load_entry_model(self.catalog, entry["model_version"])
            explained = explain_entry(model, entry["features"])
        except AutopipeError as exc:
            self.app.call_from_thread(self.explain_failed, entry["key"], str(exc))
            return
        self.app.call_from_thread(self.explained, entry["key"], explained)

    def explained(self, key: str, explanation: Explanation) -> None:
        self.explaining.discard(key)
        self.explanations[key] = explanation
        if self.highlighted_key() == key:
            self.query_one("#explanation", Static).update(explain_text(explanation))

    def explain_failed(self, key: str, problem: str) -> None:
        self.explaining.discard(key)
        self.notify(problem, severity="error")
        if self.highlighted_key() == key:
            self.query_one("#explanation", Static).update(Text(f"no explanation: {problem}",
                                                               style="dim"))

    # -- decisions ----------------------------------------------------------------------

    def chosen(self) -> dict[str, Any] | None:
        entry = self.highlighted()
        if entry is None:
            self.notify("nothing to review", severity="warning")
        return entry

    def action_decide(self, decision: str) -> None:
        if entry := self.chosen():
            self.ask_note(entry, decision)

    def action_correct(self) -> None:
        if entry := self.chosen():
            self.prepare_correction(entry)

    @work(thread=True, group="correct", exit_on_error=False)
    def prepare_correction(self, entry: dict[str, Any]) -> None:
        """The model knows the labels a correction may take: load it off the UI thread."""
        try:
            model = load_entry_model(self.catalog, entry["model_version"])
        except AutopipeError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.ask_label, entry, model)

    def ask_label(self, entry: dict[str, Any], model: FittedModel) -> None:
        title = f"Correct: the true {model.target} (predicted {entry['prediction']})"

        def labelled(answer: str | None) -> None:
            if answer is None:
                return
            try:
                label = parse_label(model, answer)
            except AutopipeError as exc:
                self.notify(str(exc), severity="error")
                return
            if label == entry["prediction"]:
                self.notify(f"{label} is what the model predicted: confirm it with c instead",
                            severity="warning")
                return
            self.ask_note(entry, "corrected", label)

        if model.task.is_classification:
            self.app.push_screen(ChoiceModal(title, model.class_names), labelled)
        else:
            self.app.push_screen(TextModal(title, "The true value (a number)"), labelled)

    def ask_note(self, entry: dict[str, Any], decision: str, label: Any = None) -> None:
        """Every decision may carry a note; Esc cancels the decision, Enter alone skips the
        note."""
        def noted(note: str | None) -> None:
            if note is not None:
                self.decide(entry, decision, label, note or None)

        self.app.push_screen(TextModal(f"{decision.capitalize()}: a note (optional)",
                                       "Why? (Enter alone for no note, Esc cancels)"), noted)

    @work(thread=True, group="decide", exit_on_error=False)
    def decide(self, entry: dict[str, Any], decision: str, label: Any,
               note: str | None) -> None:
        try:
            done = self.catalog.decide_review(entry["request_id"], entry["idx"], decision,
                                              label, author=getpass.getuser(), note=note)
        except AutopipeError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.decided, entry["key"], done)

    def decided(self, key: str, done: dict[str, Any]) -> None:
        """Drop the entry from the pending list and keep the cursor where it was, on the
        next entry."""
        table = self.query_one("#table", DataTable)
        row = table.cursor_row
        self.rows = [r for r in self.rows if r["key"] != key]
        self.render_rows()
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))
        what = {"confirmed": f"confirmed {done['predicted']}",
                "corrected": f"corrected {done['predicted']} → {done['label']}",
                "skipped": "skipped"}[done["to"]]
        self.notify(f"{key}: {what}", timeout=3)


def describe(entry: dict[str, Any]) -> Text:
    """The answer under review: prediction, class probabilities, why it was queued."""
    text = Text()
    text.append("prediction ")
    text.append(f"{entry['prediction']}", style="bold")
    if entry["confidence"] is not None:
        text.append(f"  confidence {fmt(entry['confidence'], 2)}")
    text.append("\n")
    for name, share in sorted(entry["probabilities"].items(), key=lambda p: -p[1]):
        text.append(f"  {name[:12]:<12} {share:7.2f} ")
        text.append("█" * round(share * BAR_WIDTH) + "\n", style="cyan")
    text.append(f"queued for {entry['reason']}", style="dim")
    if entry["alert_id"]:
        text.append(f" (alert {entry['alert_id']})", style="dim")
    text.append(f"\n{entry['model_version']} · {entry['slice']}\n{entry['key']}\n",
                style="dim")
    return text


def explain_text(explanation: Explanation) -> Text:
    """The largest contributions, signed and scaled to the largest one."""
    parts = explanation.contributions
    largest = sorted(parts, key=lambda name: -abs(parts[name]))[:EXPLAINED_FIELDS]
    scale = max((abs(parts[name]) for name in largest), default=0.0) or 1.0
    text = Text(f"why ({explanation.output})\n", style="bold")
    text.append(f"  base {explanation.base:.3f} → {explanation.value:.3f}\n")
    for name in largest:
        value = parts[name]
        text.append(f"  {name[:12]:<12} {value:+7.3f} ")
        bar = round(abs(value) / scale * BAR_WIDTH) or (1 if value else 0)
        text.append("█" * bar + "\n", style="green" if value > 0 else "red")
    return text
