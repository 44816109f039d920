"""``autopipe monitor`` and ``autopipe alerts``: drift checks over the prediction logs, and the
alerts a person triages (acknowledge, assign, note, resolve; every change audited)."""

from __future__ import annotations

import getpass
import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from flows.cli.console import err, fmt, json_safe, load_settings, out
from flows.core.store.catalog import Catalog
from flows.core.types import SEVERITY_STYLE

if TYPE_CHECKING:
    from flows.core.monitoring.feedback import LivePerformance

monitor_app = typer.Typer()
alerts_app = typer.Typer(help="List alerts; acknowledge or resolve one.",
                         invoke_without_command=True)


@monitor_app.command()
def monitor(
    hours: Annotated[float | None, typer.Option(
        help="Only the last N hours of traffic (default: all logged traffic).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Ingest the service's prediction logs; check drift, data quality, service health and
    live performance per model and slice; raise alerts; refill the review queue."""
    from flows.core.monitoring.monitor import monitor_home

    settings = load_settings()
    limits = settings.monitor
    with err.status("Checking the prediction logs…"):
        result = monitor_home(settings, hours)
    if as_json:
        print(json.dumps(json_safe(result.as_dict())))
        return
    health = result.health
    out.print(f"{result.ingested} new logged predictions ingested; "
              f"{len(result.alert_ids)} alert(s) raised or repeated; "
              f"{result.queued} prediction(s) queued for review ('autopipe review')")
    out.print(f"service: {health.answered} requests answered, {health.rejected} refused "
              f"({health.rejected_rate:.1%}); latency ms "
              + ", ".join(f"{k} {v:.1f}" for k, v in health.latency_ms.items()))
    for group in result.groups:
        table = Table("feature", "PSI", "test", "p-value", "drifted",
                      title=f"{group.model_version} · {group.slice} · {group.rows} live rows"
                            f" · prediction PSI {fmt(group.prediction_psi)}")
        for drift in group.features:
            table.add_row(drift.feature, fmt(drift.psi), drift.test, fmt(drift.p_value),
                          "[yellow]yes[/]" if drift.drifted else "no")
        out.print(table)
        for issue in group.quality:
            out.print(f"  [yellow]{issue.kind}[/] {issue.message}")
    if not result.groups:
        out.print(f"No model has {limits.min_rows} live rows with a training reference yet.")
    if result.performance:
        print_performance(result.performance)


def print_performance(performance: list[LivePerformance]) -> None:
    """Each model and slice's live metric on labelled predictions against its test metric."""
    table = Table("model", "slice", "labelled", "corrected", "metric", "live", "test", "loss",
                  title="Live performance on labelled predictions")
    for p in performance:
        loss = p.loss
        table.add_row(p.model_version, p.slice, str(p.labelled), str(p.corrected), p.metric,
                      fmt(p.live), fmt(p.test),
                      "–" if loss is None else f"[{'red' if loss > 0 else 'green'}]{loss:+.1%}[/]")
    out.print(table)


@alerts_app.callback()
def alerts(ctx: typer.Context,
           as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List alerts: unresolved first, by severity."""
    if ctx.invoked_subcommand is not None:
        return
    frame = Catalog(load_settings().catalog_path).alerts()
    if as_json:
        print(json.dumps(json_safe(frame.to_dicts()), default=str))
        return
    if frame.is_empty():
        out.print("No alerts.")
        return
    table = Table(title="Alerts (--json for models, thresholds and notes)")
    table.add_column("id", no_wrap=True, min_width=12)
    for name in ("severity", "status", "kind", "slice", "feature", "value", "count"):
        table.add_column(name)
    table.add_column("last seen", no_wrap=True)
    for row in frame.iter_rows(named=True):
        style = SEVERITY_STYLE.get(row["severity"], "")
        table.add_row(row["alert_id"], f"[{style}]{row['severity']}[/]", row["status"],
                      row["kind"], row["slice"] or "", row["feature"] or "",
                      fmt(row["value"]), str(row["count"]), f"{row['last_seen']:%m-%d %H:%M}")
    out.print(table)


@alerts_app.command()
def ack(alert_id: Annotated[str, typer.Argument(help="The alert's id.")],
        note: Annotated[str | None, typer.Option(help="A note for the record.")] = None,
        assignee: Annotated[str | None, typer.Option(help="Who takes it.")] = None) -> None:
    """Acknowledge an alert (someone is on it)."""
    _change(alert_id, "acknowledged", note, assignee)


@alerts_app.command()
def resolve(alert_id: Annotated[str, typer.Argument(help="The alert's id.")],
            note: Annotated[str | None, typer.Option(help="What was done.")] = None) -> None:
    """Resolve an alert (a repeat of the problem opens a new one)."""
    _change(alert_id, "resolved", note, None)


def _change(alert_id: str, status: str, note: str | None, assignee: str | None) -> None:
    change = Catalog(load_settings().catalog_path).change_alert(
        alert_id, status, note, assignee, actor=getpass.getuser())
    out.print(f"Alert {alert_id}: {change['from']} -> {change['to']}"
              + (f", assigned to {change['assignee']}" if change["assignee"] else ""))
