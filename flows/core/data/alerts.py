"""Alerts on a dataset profile: what a person should look at before trusting a model of it.

Each alert has a kind, a severity (info, warning, critical), the column(s), the statistic's
value and the threshold it crossed, and a sentence saying what it means. Leakage reuses the
training's own checks (flows/core/data/leakage.py) on the profile's sample, so the report warns
about exactly the columns a run would leave out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from flows.core.data.correlations import category_codes
from flows.core.data.leakage import find_leaks, find_linear_identity
from flows.core.types import Task

MISSING_WARNING = 0.2
MISSING_CRITICAL = 0.6
IDENTIFIER_SHARE = 0.95
IDENTIFIER_MIN_ROWS = 20
HIGH_CARDINALITY = 50
SKEWNESS = 2.0
ZEROS_SHARE = 0.5
DUPLICATES_WARNING = 0.05
IMBALANCE_WARNING = 0.1
IMBALANCE_CRITICAL = 0.01
CORRELATED = 0.95
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def data_alerts(profile: dict[str, Any], sample: pl.DataFrame, seed: int) -> list[dict[str, Any]]:
    """Every alert the profile raises, most severe first."""
    dataset, columns = profile["dataset"], profile["columns"]
    target = dataset.get("target")
    found: list[dict[str, Any]] = []
    for column in columns.values():
        found += _column_alerts(column, dataset["rows"], is_target=column["name"] == target)
    found += _duplicates(dataset)
    found += _imbalance(dataset)
    found += _correlated_pairs(profile["associations"], target)
    if target is not None and dataset.get("task") in ("binary", "multiclass", "regression"):
        found += _leaks(sample, target, Task(dataset["task"]), columns, seed)
    return sorted(found, key=lambda a: (SEVERITY_ORDER[a["severity"]], a["kind"],
                                        str(a["column"])))


def _duplicates(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows that exactly repeat an earlier one: dropped at ingest as copies of an identified
    record, or kept as observations (see flows/core/data/cleaning.py)."""
    dropped, kept = dataset.get("duplicates_dropped", 0), dataset.get("duplicates_kept", 0)
    if not dropped and not kept:
        return []
    share = (dropped or kept) / (dataset["rows"] + dropped)
    message = (f"{dropped:,} repeated rows were dropped at ingest" if dropped else
               f"{kept:,} rows exactly repeat an earlier row; kept as observations, since no "
               f"column identifies records. Copies of one row can sit on both sides of the "
               f"test split: if they are accidental, metrics read optimistic")
    return [alert("duplicates", "warning" if share >= DUPLICATES_WARNING else "info", None,
                  share, DUPLICATES_WARNING, message)]


def alert(kind: str, severity: str, column: str | None, value: float | None,
          threshold: float | None, message: str) -> dict[str, Any]:
    return {"kind": kind, "severity": severity, "column": column,
            "value": None if value is None else round(float(value), 4),
            "threshold": threshold, "message": message}


def _column_alerts(column: dict[str, Any], rows: int, is_target: bool) -> list[dict[str, Any]]:
    name, kind = column["name"], column["kind"]
    present = rows - column["missing"]
    found = []
    share = column["missing_share"]
    if share >= MISSING_WARNING:
        found.append(alert("missing", "critical" if share >= MISSING_CRITICAL else "warning",
                           name, share, MISSING_WARNING,
                           f"{share:.0%} of the values are missing"))
    if present and column["distinct"] == 1:
        found.append(alert("constant", "warning", name, 1, 1,
                           "one value in every row: it cannot help a model"))
        return found
    unique_share = column["distinct"] / present if present else 0.0
    identifier_like = (kind == "categorical" or column.get("integer", False))
    if (not is_target and identifier_like and present > IDENTIFIER_MIN_ROWS
            and unique_share >= IDENTIFIER_SHARE):
        found.append(alert("identifier", "warning", name, unique_share, IDENTIFIER_SHARE,
                           f"a distinct value in {unique_share:.0%} of the rows: an ID, "
                           "not a feature"))
    elif kind == "categorical" and column["distinct"] > HIGH_CARDINALITY:
        found.append(alert("high_cardinality", "info", name, column["distinct"],
                           HIGH_CARDINALITY, f"{column['distinct']:,} distinct values"))
    if kind == "numeric" and not is_target:
        skew = column.get("skewness")
        if skew is not None and abs(skew) >= SKEWNESS:
            found.append(alert("skew", "info", name, skew, SKEWNESS,
                               f"strongly skewed (skewness {skew:.1f}): consider a log scale"))
        zeros = column.get("zeros_share", 0.0)
        if zeros >= ZEROS_SHARE:
            found.append(alert("zeros", "info", name, zeros, ZEROS_SHARE,
                               f"{zeros:.0%} of the values are zero"))
    return found


def _imbalance(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    balance = dataset.get("class_balance") or []
    if len(balance) < 2:
        return []
    minority = min(balance, key=lambda c: c["share"])
    if minority["share"] >= IMBALANCE_WARNING:
        return []
    severity = "critical" if minority["share"] < IMBALANCE_CRITICAL else "warning"
    return [alert("imbalance", severity, dataset["target"], minority["share"],
                  IMBALANCE_WARNING, f"class {minority['value']!r} is only "
                                     f"{minority['share']:.1%} of the rows")]


def _correlated_pairs(associations: dict[str, Any], target: str | None) -> list[dict[str, Any]]:
    names, matrix = associations["columns"], associations["combined"]
    found = []
    for i, first in enumerate(names):
        for j in range(i + 1, len(names)):
            value = matrix[i][j]
            if value is None or abs(value) < CORRELATED or target in (first, names[j]):
                continue
            found.append(alert("correlated", "warning", f"{first} ~ {names[j]}", value,
                               CORRELATED, f"{first!r} and {names[j]!r} go together "
                                           f"({value:.2f}): one of them is redundant"))
    return found


def _leaks(sample: pl.DataFrame, target: str, task: Task, columns: dict[str, Any],
           seed: int) -> list[dict[str, Any]]:
    rows = sample.filter(pl.col(target).is_not_null())
    features = [c for c in rows.columns if c != target and columns[c]["distinct"] > 1]
    if rows.height < IDENTIFIER_MIN_ROWS or not features:
        return []
    frame = rows.select(features).to_pandas()
    y = rows[target].cast(pl.Float64).to_numpy() if task is Task.REGRESSION \
        else category_codes(rows[target])
    leaks = find_leaks(frame, np.asarray(y), task, tuple(features), seed)
    if task is Task.REGRESSION:
        leaks += find_linear_identity(frame, np.asarray(y), tuple(features), seed)
    return [alert("leakage", "critical", e.column, None, None, e.reason) for e in leaks]
