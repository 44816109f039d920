"""The Alerts screen: triage what monitoring raised, most severe and newest first.

The highlighted alert's detail shows why it fired (statistic against threshold, notes so
far); a feature alert also charts the training distribution against the live one, computed
in a worker because it reads the model's reference rows and the whole logged traffic. Every
triage action goes through ``Catalog.change_alert``, so the CLI, the TUI and the audit log
agree on what happened.
"""

from __future__ import annotations

import getpass
import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static
from textual_plotext import PlotextPlot

from flows.core.errors import AutopipeError
from flows.core.types import SEVERITY_STYLE
from tui.modals import TextModal
from tui.reads.alerts import Distribution, age_text, charted, load_alerts, load_distribution
from tui.screens.review import show_alert_queue
from tui.widgets import TableScreen, fmt

if TYPE_CHECKING:
    from tui.app import AutopipeApp

STATUS_STYLE = {"open": "bold", "acknowledged": "dim", "resolved": "dim green"}
LABEL_WIDTH = 7
"""Room an x-axis label needs in the chart, to decide how many of them fit."""


class AlertsScreen(TableScreen):
    TITLE_TEXT = "Alerts"
    EMPTY_TEXT = ("No alerts. Monitoring raises them from served traffic: serve a model "
                  "(autopipe serve), then run  autopipe monitor")
    KEY = "alert_id"
    COLUMNS: ClassVar[list[tuple[str, str]]] = [
        ("severity", "severity"), ("age", "age_s"), ("kind", "kind"), ("status", "status"),
        ("feature", "feature"), ("slice", "slice"), ("statistic", "statistic"),
        ("value", "value"), ("threshold", "threshold"), ("count", "count"),
        ("model", "model_version"), ("first seen", "first_seen"), ("last seen", "last_seen"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "acknowledge", "Ack"),
        Binding("g", "assign", "Assign"),
        Binding("e", "note", "Note"),
        Binding("x", "resolve", "Resolve"),
        Binding("v", "review", "Queue"),
    ]
    DEFAULT_CSS = """
    AlertsScreen #table { height: 1fr; }
    AlertsScreen #alert-detail { height: 2fr; border-top: solid $primary; }
    AlertsScreen #alert-info { width: 1fr; padding: 0 1; }
    AlertsScreen #alert-chart { width: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, Distribution | None] = {}
        """Per alert id: its distribution (None: nothing to chart), computed once."""
        self.charting: set[str] = set()
        """Alerts whose distribution a worker is reading (never started twice)."""

    def compose_detail(self) -> ComposeResult:
        with Horizontal(id="alert-detail"):
            with VerticalScroll(id="alert-info"):
                yield Static(id="alert-text")
            yield PlotextPlot(id="alert-chart")

    # -- rows ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return cast("AutopipeApp", self.app).now()

    def load(self) -> list[dict[str, Any]]:
        rows = load_alerts(self.catalog, self.now())
        for row in rows:
            row["cells"] = {
                "severity": Text(row["severity"], style=SEVERITY_STYLE.get(row["severity"], "")),
                "status": Text(row["status"], style=STATUS_STYLE.get(row["status"], "")),
                "age_s": age_text(row["age_s"]),
                "value": fmt(row["value"], 3), "threshold": fmt(row["threshold"], 3)}
        return rows

    def action_refresh(self) -> None:
        self.charts.clear()
        self.charting.clear()
        super().action_refresh()

    # -- detail -------------------------------------------------------------------------

    def show_detail(self) -> None:
        alert = self.highlighted()
        self.query_one("#alert-detail").display = alert is not None
        if alert is None:
            return
        self.query_one("#alert-text", Static).update(describe(alert))
        chart = self.query_one("#alert-chart", PlotextPlot)
        chart.display = charted(alert)
        if not chart.display:
            return
        if alert["alert_id"] in self.charts:
            self.draw_chart(alert, self.charts[alert["alert_id"]])
        else:
            draw_message(chart, f"{alert['feature']}: reading the distributions…")
            if alert["alert_id"] not in self.charting:
                self.charting.add(alert["alert_id"])
                self.load_chart(alert)

    @work(thread=True, group="chart", exit_on_error=False)
    def load_chart(self, alert: dict[str, Any]) -> None:
        try:
            found = load_distribution(self.catalog, alert)
        except AutopipeError as exc:
            self.app.call_from_thread(self.chart_failed, alert, str(exc))
            return
        self.app.call_from_thread(self.chart_loaded, alert, found)

    def chart_loaded(self, alert: dict[str, Any], found: Distribution | None) -> None:
        self.charting.discard(alert["alert_id"])
        self.charts[alert["alert_id"]] = found
        current = self.highlighted()
        if current is not None and current["alert_id"] == alert["alert_id"]:
            self.draw_chart(current, found)

    def chart_failed(self, alert: dict[str, Any], problem: str) -> None:
        """Not cached: ``r`` tries again."""
        self.charting.discard(alert["alert_id"])
        self.notify(problem, severity="error")
        draw_message(self.query_one("#alert-chart", PlotextPlot),
                     f"{alert['feature']}: no chart ({problem})")

    def draw_chart(self, alert: dict[str, Any], found: Distribution | None) -> None:
        chart = self.query_one("#alert-chart", PlotextPlot)
        if found is None:
            draw_message(chart, f"{alert['feature']}: the model kept no training rows")
            return
        draw_distribution(chart, found)
        self.query_one("#alert-text", Static).update(describe(alert, found))

    # -- triage -------------------------------------------------------------------------

    def chosen(self) -> dict[str, Any] | None:
        alert = self.highlighted()
        if alert is None:
            self.notify("no alert to act on", severity="warning")
        return alert

    def action_acknowledge(self) -> None:
        if alert := self.chosen():
            self.change(alert["alert_id"], status="acknowledged")

    def action_assign(self) -> None:
        if alert := self.chosen():
            self.ask(TextModal("Assign the alert", "Who takes it? (a name)",
                               value=alert["assignee"] or ""),
                     lambda name: self.change(alert["alert_id"], assignee=name))

    def action_note(self) -> None:
        if alert := self.chosen():
            self.ask(TextModal("Add a note", "What did you find or do?"),
                     lambda note: self.change(alert["alert_id"], note=note))

    def action_resolve(self) -> None:
        alert = self.chosen()
        if alert is None:
            return

        def resolve(note: str | None) -> None:
            if note is not None:  # Esc cancels; an empty note resolves without one
                self.change(alert["alert_id"], status="resolved", note=note or None)

        self.app.push_screen(TextModal("Resolve the alert", "A closing note (optional)"),
                             resolve)

    def ask(self, modal: TextModal, then: Callable[[str], object]) -> None:
        """Push ``modal``; act on a non-empty answer, ignore Esc or an empty one."""
        def answered(answer: str | None) -> None:
            if answer:
                then(answer)

        self.app.push_screen(modal, answered)

    @work(thread=True, group="change", exit_on_error=False)
    def change(self, alert_id: str, status: str | None = None, note: str | None = None,
               assignee: str | None = None) -> None:
        try:
            done = self.catalog.change_alert(alert_id, status=status, note=note,
                                             assignee=assignee, actor=getpass.getuser())
        except AutopipeError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self.changed, done)

    def changed(self, done: dict[str, Any]) -> None:
        words = [done["to"]] if done["to"] != done["from"] else []
        if done["assignee"]:
            words.append(f"assigned to {done['assignee']}")
        if done["note"]:
            words.append("note added")
        self.notify(f"alert {done['alert_id']}: {', '.join(words) or 'unchanged'}",
                    timeout=3)
        self.load_rows()

    def action_review(self) -> None:
        if alert := self.chosen():
            show_alert_queue(self.app, alert["alert_id"])


def describe(alert: dict[str, Any], found: Distribution | None = None) -> Text:
    """The alert in words: what fired, against which threshold, who has it, what was said."""
    text = Text()
    text.append(f"{alert['kind']} ", style="bold")
    text.append(alert["severity"], style=SEVERITY_STYLE.get(alert["severity"], ""))
    text.append(f" · {alert['status']} · {alert['alert_id']}\n")
    text.append(f"{alert['message']}\n")
    if alert["statistic"]:
        text.append(f"{alert['statistic']} {fmt(alert['value'], 3)} "
                    f"(threshold {fmt(alert['threshold'], 3)})\n")
    where = " · ".join(p for p in (alert["model_version"], alert["slice"]) if p)
    if where:
        text.append(f"model {where}\n", style="dim")
    text.append(f"seen {alert['count']}× · first {alert['first_seen']:%Y-%m-%d %H:%M} · "
                f"last {alert['last_seen']:%Y-%m-%d %H:%M}\n", style="dim")
    text.append(f"assignee: {alert['assignee'] or '(nobody)'}\n")
    if found is not None:
        text.append(f"rows: {found.reference_rows} training, {found.current_rows} live · "
                    f"missing {found.reference_missing:.0%} → {found.current_missing:.0%}\n",
                    style="dim")
    for note in alert["notes"]:
        text.append(f"{note.get('at', '')[:16].replace('T', ' ')} {note.get('by', '')}: ",
                    style="dim")
        text.append(f"{note.get('note', '')}\n")
    return text


def draw_distribution(chart: PlotextPlot, found: Distribution) -> None:
    """Training against live shares as paired bars, with only as many x labels as fit."""
    plt = chart.plt
    plt.clear_figure()
    positions = [float(i) for i in range(len(found.labels))]
    if positions:
        # textual-plotext's stub names one label and colour; plotext takes one per series.
        plt.multiple_bar(positions, [[100 * s for s in found.reference],  # type: ignore[call-arg]
                                     [100 * s for s in found.current]],
                         labels=["training", "live"],
                         color=["blue", "orange"])  # type: ignore[arg-type]
        fits = max((chart.size.width or 40) // LABEL_WIDTH, 2)
        step = max(math.ceil(len(positions) / fits), 1)
        plt.xticks(positions[::step], found.labels[::step])
    plt.title(f"{found.feature}: % of rows" + (" per bin" if found.kind == "number" else ""))
    chart.refresh()


def draw_message(chart: PlotextPlot, message: str) -> None:
    plt = chart.plt
    plt.clear_figure()
    plt.title(message)
    chart.refresh()
