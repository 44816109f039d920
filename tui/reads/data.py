"""What the Data screen shows, read from the catalog: dataset versions, and a version's
analysis (the profile of flows/core/data/profile.py) cut into what fits a terminal: its facts in
a few lines, its alerts, a row per column, and one column's distribution.

Plain functions over the Catalog and the profile's JSON, called from thread workers, so
the numbers are tested without a terminal and the screen only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flows.core.data.cleaning import duplicates_note
from flows.core.store.catalog import Catalog

SHORT_HASH = 12
ASSOCIATED_SHOWN = 3
CLASSES_SHOWN = 4
KIND_SHORT = {"numeric": "num", "categorical": "cat", "free_text": "text", "boolean": "bool",
              "datetime": "date"}


@dataclass(frozen=True)
class Chart:
    """What a column chart shows: the bins of a histogram (``labels`` names its first,
    middle and last edge) or frequent values (``labels`` names each bar)."""

    title: str
    kind: str
    """'histogram' or 'top'."""
    counts: tuple[float, ...]
    labels: tuple[str, ...]


def load_versions(catalog: Catalog) -> list[dict[str, Any]]:
    """Dataset versions, newest first, with short hashes of the version and its parent."""
    rows = catalog.datasets().drop("report", "snapshot_path").to_dicts()
    for row in rows:
        row["hash"] = row["content_hash"][:SHORT_HASH]
        row["parent"] = (row["parent_hash"] or "")[:SHORT_HASH]
    return rows


def how_to_profile(source: str) -> str:
    return ("No analysis of this version yet. Make one from a shell:\n"
            f"  autopipe profile {source} [--target COLUMN]")


def facts(profile: dict[str, Any]) -> list[str]:
    """The dataset in a few short lines: size, missing cells and alerts by severity; the
    target and its classes; the columns most associated with it."""
    dataset = profile["dataset"]
    rows, columns = dataset["rows"], dataset["columns"]
    cells = rows * columns
    missing = dataset["missing_cells"]
    alerts = profile.get("alerts") or []
    counts = {s: sum(a["severity"] == s for a in alerts) for s in ("critical", "warning", "info")}
    lines = [f"{rows:,} rows × {columns} columns · {missing / cells if cells else 0:.1%} "
             "missing · alerts: " + (", ".join(f"{n} {s}" for s, n in counts.items() if n)
                                     or "none")]
    if dataset.get("duplicates_dropped") or dataset.get("duplicates_kept"):
        lines[0] += f" · {duplicates_note(dataset)}"
    target = dataset.get("target")
    if target:
        line = f"target {target} ({dataset.get('task', '?')})"
        balance = dataset.get("class_balance") or []
        if balance:
            line += ": " + ", ".join(f"{c['value']} {c['share']:.0%}"
                                     for c in balance[:CLASSES_SHOWN])
            line += " …" if len(balance) > CLASSES_SHOWN else ""
        lines.append(line)
        associated = profile.get("target_association") or []
        if associated:
            lines.append("most associated with the target: " + ", ".join(
                f"{a['column']} {a['mutual_information']:.3f}"
                for a in associated[:ASSOCIATED_SHOWN]))
    return lines


def column_rows(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per column in the file's order: kind, missing share, and the mean of a number
    or the most frequent value of a category."""
    rows = []
    for name, column in profile["columns"].items():
        top = column.get("top") or []
        rows.append({
            "name": name, "kind": KIND_SHORT.get(column["kind"], column["kind"]),
            "missing_share": column["missing_share"],
            "typical": f"{column['mean']:.4g}" if column.get("mean") is not None
            else (top[0]["value"] if top else ""),
        })
    return rows


def column_chart(column: dict[str, Any]) -> Chart | None:
    """A number's or a date's histogram (its bins' counts, labelled by the first, middle and
    last edge); else the most frequent values; None for a column with neither."""
    histogram = column.get("histogram")
    if histogram and histogram["counts"]:
        edges = histogram["edges"]
        label = _date_label if column["kind"] == "datetime" else _number_label
        return Chart(
            title=f"{column['name']} · {sum(histogram['counts']):,} values",
            kind="histogram", counts=tuple(histogram["counts"]),
            labels=(label(edges[0]), label(edges[len(edges) // 2]), label(edges[-1])))
    top = column.get("top") or []
    if top:
        return Chart(title=f"{column['name']} · {column.get('distinct') or 0:,} distinct",
                     kind="top", counts=tuple(t["count"] for t in top),
                     labels=tuple(t["value"] for t in top))
    return None


def _number_label(value: float) -> str:
    return f"{value:.4g}"


def _date_label(epoch: float) -> str:
    return f"{datetime.fromtimestamp(epoch, UTC):%Y-%m-%d}"
