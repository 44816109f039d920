"""The data report: a dataset version's profile as one HTML page of numbers and charts.

Charts are capped (the first MAX_COLUMN_CHARTS columns get one each, the heat map shows at
most correlations.MAX_COLUMNS columns) so the file stays a few megabytes for any table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from flows.core.data.cleaning import duplicates_note
from flows.core.reports import charts
from flows.core.reports.html import (
    alerts_table,
    cards,
    escape,
    figure,
    grid,
    notes,
    number,
    page,
    size,
    table,
)

MAX_COLUMN_CHARTS = 60
MAX_MISSING_COLUMNS = 60


def data_report_html(profile: dict[str, Any], name: str, content_hash: str) -> str:
    """The whole page for one profile."""
    dataset = profile["dataset"]
    sections = [("overview", "Overview", _overview(profile)),
                ("alerts", f"Alerts ({len(profile['alerts'])})", alerts_table(profile["alerts"]))]
    if dataset.get("target"):
        sections.append(("target", f"Target: {dataset['target']}", _target(profile)))
    sections += [("associations", "Correlations and associations", _associations(profile)),
                 ("missing", "Missing values", _missing(profile)),
                 ("columns", "Columns", _columns(profile))]
    return page(f"Data report · {name}", f"dataset version {content_hash[:12]} · "
                f"{dataset['rows']:,} rows × {dataset['columns']} columns", sections)


def sections_for_run(profile: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The data part of a run report: overview, alerts and target association."""
    found = [("data", "Data", _overview(profile)),
             ("data-alerts", f"Data alerts ({len(profile['alerts'])})",
              alerts_table(profile["alerts"]))]
    if profile.get("target_association"):
        found.append(("association", "Association with the target", _ranked(profile)))
    return found


def alert_counts(alerts: Sequence[dict[str, Any]]) -> dict[str, int]:
    """How many alerts of each severity."""
    counts = {"critical": 0, "warning": 0, "info": 0}
    for alert in alerts:
        counts[alert["severity"]] += 1
    return counts


def _overview(profile: dict[str, Any]) -> str:
    dataset = profile["dataset"]
    kinds: dict[str, int] = {}
    for column in profile["columns"].values():
        kinds[column["kind"]] = kinds.get(column["kind"], 0) + 1
    cells = dataset["rows"] * max(dataset["columns"], 1)
    counts = alert_counts(profile["alerts"])
    return cards([
        ("rows", f"{dataset['rows']:,}"), ("columns", dataset["columns"]),
        ("missing cells", f"{dataset['missing_cells'] / cells:.1%}" if cells else "-"),
        ("duplicate rows", duplicates_note(dataset).replace(" duplicate rows", "")),
        ("in memory (estimate)", size(dataset["memory_bytes"])),
        ("Parquet snapshot", size(dataset["file_bytes"])),
        ("alerts: critical / warning / info",
         f"{counts['critical']} / {counts['warning']} / {counts['info']}"),
        ("analysis time", f"{dataset.get('analysis_s', 0):.1f} s"),
    ]) + "<p>" + escape(", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))) + "</p>" \
        + notes(profile.get("notes", []))


def _target(profile: dict[str, Any]) -> str:
    dataset = profile["dataset"]
    target = profile["columns"][dataset["target"]]
    parts = [f"<p>task: <b>{escape(dataset.get('task', '-'))}</b></p>"]
    balance = dataset.get("class_balance")
    if balance:
        parts.append(figure(charts.bars([b["value"] for b in balance],
                                        [b["share"] for b in balance],
                                        "Class balance", value_label="share of rows")))
    elif target.get("histogram"):
        parts.append(figure(_column_chart(target)))
    if profile.get("target_association"):
        parts.append(_ranked(profile))
    return grid(parts)


def _ranked(profile: dict[str, Any]) -> str:
    ranked = profile["target_association"][:30]
    return figure(charts.bars([r["column"] for r in ranked],
                              [r["mutual_information"] for r in ranked],
                              "Association with the target",
                              value_label="mutual information (nats)"),
                  "mutual information on a sample of the rows; higher tells more about "
                  "the target")


def _associations(profile: dict[str, Any]) -> str:
    found = profile["associations"]
    if len(found["columns"]) < 2:
        return "<p class=muted>Fewer than two columns to compare.</p>"
    combined = _as_floats(found["combined"])
    parts = [figure(charts.heatmap(found["columns"], combined, "Association of every pair",
                                   vmin=-1.0, vmax=1.0),
                    "Pearson for two numbers, Cramér's V for two categories, the correlation "
                    "ratio for a number and a category")]
    numeric = [i for i, row in enumerate(found["spearman"])
               if any(v is not None for j, v in enumerate(row) if j != i)]
    if len(numeric) >= 2:
        labels = [found["columns"][i] for i in numeric]
        matrix = [[_nan(found["spearman"][i][j]) for j in numeric] for i in numeric]
        parts.append(figure(charts.heatmap(labels, matrix, "Spearman rank correlation"),
                            "monotone relations between numeric columns"))
    return grid(parts)


def _missing(profile: dict[str, Any]) -> str:
    matrix = profile.get("missing_matrix") or {}
    shares = sorted(((c["name"], c["missing_share"]) for c in profile["columns"].values()),
                    key=lambda item: -item[1])
    with_gaps = [(name, share) for name, share in shares if share > 0]
    if not with_gaps:
        return '<p class="good">No missing values.</p>'
    parts = [figure(charts.bars([n for n, _ in with_gaps[:30]], [s for _, s in with_gaps[:30]],
                                "Missing share per column", value_label="share missing"))]
    columns = [name for name in matrix if any(ch == "1" for ch in matrix[name])]
    columns = columns[:MAX_MISSING_COLUMNS]
    if columns:
        flags = np.array([[ch == "1" for ch in matrix[name]] for name in columns]).T
        parts.append(figure(charts.missing_matrix(columns, flags, "Missing values by row"),
                            f"{flags.shape[0]} sampled rows; dark = missing"))
    return grid(parts)


def _columns(profile: dict[str, Any]) -> str:
    alerts_by_column: dict[str, list[str]] = {}
    for alert in profile["alerts"]:
        alerts_by_column.setdefault(str(alert.get("column")), []).append(alert["kind"])
    blocks = []
    for index, column in enumerate(profile["columns"].values()):
        chart = _column_chart(column) if index < MAX_COLUMN_CHARTS else ""
        flagged = alerts_by_column.get(column["name"])
        heading = f"<h3>{escape(column['name'])} <span class=muted>{escape(column['kind'])}" \
                  f"</span>{' · ' + escape(', '.join(flagged)) if flagged else ''}</h3>"
        statistics = table(["statistic", "value"], _stat_rows(column), [False, True])
        blocks.append(f'<div class="column">{heading}'
                      f"{grid([statistics, figure(chart) if chart else ''])}</div>")
    skipped = len(profile["columns"]) - MAX_COLUMN_CHARTS
    tail = f"<p class=muted>Charts for the first {MAX_COLUMN_CHARTS} columns only " \
           f"({skipped} more have statistics only).</p>" if skipped > 0 else ""
    return "".join(blocks) + tail


def _column_chart(column: dict[str, Any]) -> str:
    histogram = column.get("histogram")
    if histogram and len(histogram["edges"]) > 2:
        return charts.histogram(histogram["edges"], histogram["counts"],
                                f"{column['name']}: distribution",
                                x_label="seconds since 1970" if column["kind"] == "datetime"
                                else "")
    top = column.get("top")
    if top and isinstance(top[0], dict):
        return charts.bars([t["value"] for t in top], [t["count"] for t in top],
                           f"{column['name']}: most frequent values", value_label="rows")
    return ""


def _stat_rows(column: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("missing", f"{column['missing']:,} ({column['missing_share']:.1%})"),
        ("distinct", f"{column['distinct']:,}")]
    for key in ("min", "max", "mean", "std", "skewness"):
        if column.get(key) is not None:
            value = column[key]
            rows.append((key, number(value) if isinstance(value, float) else value))
    for key, value in (column.get("quantiles") or {}).items():
        rows.append((key, number(value)))
    if "zeros" in column:
        rows.append(("zeros", f"{column['zeros']:,} ({column.get('zeros_share', 0):.1%})"))
    if "outliers" in column:
        rows.append(("outliers (IQR)", f"{column['outliers']:,}"))
    if column.get("length_mean") is not None:
        rows.append(("text length min / mean / max",
                     f"{column['length_min']} / {number(column['length_mean'], 3)} / "
                     f"{column['length_max']}"))
    return rows


def _as_floats(matrix: list[list[float | None]]) -> list[list[float]]:
    return [[_nan(v) for v in row] for row in matrix]


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)
