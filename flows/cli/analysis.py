"""``autopipe profile`` and ``autopipe report``: the data analysis and the HTML reports.

Profiling is plain library work (ingest, analyse, record) and needs no Prefect server; the
report of a run is rebuilt from what the run stored.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from flows.cli.console import err, fmt, json_safe, load_settings, out
from flows.core.data.cleaning import duplicates_note
from flows.core.store.catalog import Catalog
from flows.core.types import SEVERITY_STYLE

analysis_app = typer.Typer()
ALERTS_SHOWN = 10


@analysis_app.command()
def profile(
    source: Annotated[str, typer.Argument(help="A file or database URI, as for 'ingest'.")],
    target: Annotated[str | None, typer.Option("--target", "-t",
                                               help="The column to predict, if any.")] = None,
    name: Annotated[str | None, typer.Option(help="Dataset name (default: from source).")] = None,
    query: Annotated[str | None, typer.Option(help="SQL query for a database URI.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample for associations.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the profile as JSON.")] = False,
) -> None:
    """Analyse a source (statistics, correlations, alerts) and write its data report."""
    from flows.core.data.ingest import check_source, ingest
    from flows.core.data.profile import profile_snapshot
    from flows.core.data.sources import parse_source
    from flows.core.reports.files import data_report_path, write_data_report

    settings = load_settings()
    checked = check_source(source, target, query) if target else parse_source(source, query)
    with err.status("Ingesting…"):
        dataset = ingest(checked, settings.datasets_dir, name).dataset
    with err.status(f"Analysing {dataset.rows:,} rows…"):
        found = profile_snapshot(dataset.snapshot_path, target, seed,
                                 int(dataset.report.get("duplicates_dropped", 0)),
                                 dataset.spellings(target) if target else None,
                                 int(dataset.report.get("duplicates_kept", 0)))
    with err.status("Writing the report…"):
        path = write_data_report(found, dataset, data_report_path(settings.reports_dir,
                                                                  dataset, target))
        Catalog(settings.catalog_path).save_profile(dataset, target, found, path)
    if as_json:
        print(json.dumps(json_safe(found | {"report_path": str(path)})))
        return
    _print_profile(found)
    print_alerts(found["alerts"])
    out.print(f"Report: [link=file://{path}]{path}[/]")


@analysis_app.command()
def report(run_id: Annotated[str, typer.Argument(help="A run id, as 'autopipe runs' lists.")],
           ) -> None:
    """Rewrite a run's HTML report from what the run stored, and print its path."""
    from flows.core.reports.files import write_run_report

    settings = load_settings()
    with err.status("Writing the report…"):
        path = write_run_report(Catalog(settings.catalog_path), run_id, settings.reports_dir)
    out.print(f"Report: [link=file://{path}]{path}[/]")


def print_alerts(alerts: list[dict[str, Any]]) -> None:
    """Counts by severity, then the critical and warning alerts (the report has them all)."""
    counts = {severity: sum(a["severity"] == severity for a in alerts)
              for severity in SEVERITY_STYLE}
    out.print("Data alerts: " + ", ".join(
        f"[{style}]{counts[severity]} {severity}[/]"
        for severity, style in SEVERITY_STYLE.items()))
    serious = [a for a in alerts if a["severity"] != "info"]
    for alert in serious[:ALERTS_SHOWN]:
        style = SEVERITY_STYLE[alert["severity"]]
        column = f" {alert['column']}:" if alert.get("column") else ""
        out.print(f"  [{style}]{alert['severity']}[/] {alert['kind']}{column} "
                  f"{alert['message']}")
    if len(serious) > ALERTS_SHOWN:
        out.print(f"  … and {len(serious) - ALERTS_SHOWN} more in the report")


def _print_profile(found: dict[str, Any]) -> None:
    dataset = found["dataset"]
    out.print(f"[bold]{dataset['rows']:,}[/] rows × [bold]{dataset['columns']}[/] columns · "
              f"{dataset['missing_cells']:,} missing cells · "
              f"{duplicates_note(dataset)} · analysed in "
              f"{dataset['analysis_s']:.1f} s")
    table = Table("column", "kind", "missing", "distinct", "mean", "most frequent",
                  title="Columns")
    for column in found["columns"].values():
        top = column.get("top") or []
        table.add_row(column["name"], column["kind"], f"{column['missing_share']:.1%}",
                      f"{column['distinct']:,}", _short(column.get("mean")),
                      _short(top[0]["value"]) if top and isinstance(top[0], dict) else "")
    out.print(table)
    ranked = found.get("target_association") or []
    if ranked:
        out.print("Most associated with the target: " + ", ".join(
            f"{r['column']} ({r['mutual_information']:.3f})" for r in ranked[:5]))


def _short(value: Any) -> str:
    if value is None:
        return ""
    text = fmt(value) if isinstance(value, float) else str(value)
    return text if len(text) <= 19 else text[:18] + "…"
