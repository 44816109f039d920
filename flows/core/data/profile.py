"""The automatic analysis of a dataset version: per-column statistics, associations, alerts.

Statistics come from two scans of the Parquet snapshot inside DuckDB (no table is loaded into
Python): the first gathers counts, moments, approximate quantiles and the frequent values;
the second, knowing each column's range, its histogram, outliers and exact counts of the
frequent values. Distinct counts are exact up to EXACT_DISTINCT_MAX_ROWS rows and HyperLogLog
estimates (about 2% error) above, where exact counting costs 3.9 GB on 10M rows (GOTCHAS.md).
Associations (correlations, mutual information with the target, leakage) are computed on a
reservoir sample, where exactness buys nothing: the profile says how many rows it used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from flows.core.data.cleaning import q, sql_literal
from flows.core.data.correlations import associations, target_association
from flows.core.data.alerts import data_alerts
from flows.core.errors import SchemaError
from flows.core.preparation.split import detect_task
from flows.core.types import Task

EXACT_DISTINCT_MAX_ROWS = 1_000_000
SAMPLE_ROWS = 50_000
HISTOGRAM_BINS = 20
TOP_VALUES = 10
MAX_CLASSES = 50
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_RESERVOIR = 16_384
"""Quantiles come from a reservoir of this many values per column (exact below it): t-digest
cost 0.55 s a column on 10M rows, the reservoir 0.11 s."""
MISSING_MATRIX_ROWS = 200
FREE_TEXT_MIN_WORDS = 3.0
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                 "USMALLINT", "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")


def profile_snapshot(path: Path, target: str | None = None, seed: int = 0,
                     duplicates_dropped: int = 0,
                     spellings: Mapping[str, str] | None = None,
                     duplicates_kept: int = 0) -> dict[str, Any]:
    """The analysis of one snapshot, JSON-ready: ``dataset``, ``columns`` (name -> stats),
    ``associations``, ``target_association``, ``alerts`` and ``notes`` on what is estimated.
    The class balance names the target's classes as the source wrote them (``spellings``:
    see DatasetRef.spellings)."""
    started = datetime.now()
    with duckdb.connect() as conn:
        kinds = _open_view(conn, path)
        rows = int(_one(conn, "SELECT count(*) FROM data")[0])
        exact = rows <= EXACT_DISTINCT_MAX_ROWS
        sample = conn.sql(f"SELECT * FROM data USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) "
                          f"REPEATABLE ({seed})").pl() if rows > SAMPLE_ROWS \
            else conn.sql("SELECT * FROM data").pl()
        columns = _first_scan(conn, kinds, rows, exact)
        _from_sample(columns, sample, rows)
        _second_scan(conn, columns)
        class_counts = _class_counts(conn, target, spellings or {}) if target in columns \
            and columns[target]["distinct"] <= MAX_CLASSES else []
    kinds_now = {name: column["kind"] for name, column in columns.items()}
    dataset = {
        "rows": rows, "columns": len(columns), "duplicates_dropped": duplicates_dropped,
        "duplicates_kept": duplicates_kept,
        "file_bytes": path.stat().st_size,
        "memory_bytes": _memory_estimate(columns, rows),
        "missing_cells": sum(c["missing"] for c in columns.values()),
        "sample_rows": sample.height, "exact_distinct": exact,
    }
    if target is not None and target in columns:
        dataset["target"] = target
        dataset["task"] = _task(sample, target)
        if dataset["task"] != Task.REGRESSION.value:
            dataset["class_balance"] = class_counts
    task = dataset.get("task")
    profile: dict[str, Any] = {
        "dataset": dataset, "columns": columns,
        "missing_matrix": _missing_matrix(sample, seed),
        "associations": associations(sample, kinds_now, target),
        "target_association": target_association(sample, kinds_now, target, task, seed)
        if target is not None and task in {t.value for t in Task} else [],
        "notes": _notes(exact, rows, sample.height),
    }
    profile["alerts"] = data_alerts(profile, sample, seed)
    profile["dataset"]["analysis_s"] = round((datetime.now() - started).total_seconds(), 3)
    return profile


def _open_view(conn: duckdb.DuckDBPyConnection, path: Path) -> dict[str, tuple[str, str]]:
    """The view ``data`` over the snapshot, NaN and infinities counted as missing; and per
    column: numeric, boolean, datetime or text (split later into categorical and free text),
    and its SQL type."""
    source = f"read_parquet({sql_literal(path)})"
    described = conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    columns = [f"CASE WHEN isfinite({q(name)}) THEN {q(name)} END AS {q(name)}"
               if str(sql_type).upper() in ("FLOAT", "DOUBLE") else q(name)
               for name, sql_type, *_ in described]
    conn.execute(f"CREATE VIEW data AS SELECT {', '.join(columns)} FROM {source}")
    kinds = {}
    for name, sql_type, *_ in described:
        base = str(sql_type).split("(")[0].upper()
        kinds[str(name)] = ("numeric" if base in NUMERIC_TYPES else "boolean"
                            if base == "BOOLEAN" else "datetime"
                            if base.startswith(("DATE", "TIMESTAMP")) else "text",
                            str(sql_type))
    return kinds


def _first_scan(conn: duckdb.DuckDBPyConnection, kinds: dict[str, tuple[str, str]],
                rows: int, exact: bool) -> dict[str, dict[str, Any]]:
    """Counts, moments, quantiles and frequent values of every column, in one scan."""
    parts: list[str] = []
    layout: list[tuple[str, str]] = []

    def add(column: str, stat: str, expression: str) -> None:
        parts.append(expression)
        layout.append((column, stat))

    for name, (kind, _) in kinds.items():
        col = q(name) if kind != "boolean" else f"{q(name)}::INTEGER"
        add(name, "present", f"count({q(name)})")
        add(name, "distinct", f"count(DISTINCT {q(name)})" if exact
            else f"approx_count_distinct({q(name)})")
        if kind in ("numeric", "boolean"):
            number = f"{col}::DOUBLE"
            for stat in ("min", "max"):
                add(name, stat, f"{stat}({number})")
            add(name, "mean", f"avg({number})")
            add(name, "std", f"stddev_samp({number})")
            add(name, "zeros", f"count_if({number} = 0)")
            add(name, "quantiles", f"reservoir_quantile({number}, {list(QUANTILES)}, "
                                   f"{QUANTILE_RESERVOIR})")
        elif kind == "datetime":
            add(name, "min", f"min({q(name)})")
            add(name, "max", f"max({q(name)})")
    values = _one(conn, f"SELECT {', '.join(parts)} FROM data")
    columns: dict[str, dict[str, Any]] = {
        name: {"name": name, "kind": kind, "sql_type": sql_type,
               "integer": sql_type.upper().endswith("INT") or sql_type.upper() == "INTEGER"}
        for name, (kind, sql_type) in kinds.items()}
    for (name, stat), value in zip(layout, values, strict=True):
        columns[name][stat] = _plain(value)
    for column in columns.values():
        present = column.pop("present")
        column["missing"] = rows - present
        column["missing_share"] = column["missing"] / rows if rows else 0.0
        if "zeros" in column:
            column["zeros_share"] = column["zeros"] / present if present else 0.0
        if "quantiles" in column and column["quantiles"] is not None:
            column["quantiles"] = dict(zip((f"p{round(100 * s)}" for s in QUANTILES),
                                           column["quantiles"], strict=True))
    return columns


def _from_sample(columns: dict[str, dict[str, Any]], sample: pl.DataFrame, rows: int) -> None:
    """What the sample measures well enough and a full scan would pay dearly for (seconds a
    column on 10M rows): skewness, text lengths and word counts (which split categories from
    free text), and the frequent values with their counts scaled to the table (exact when
    the sample is the whole table)."""
    scale = rows / sample.height if sample.height else 1.0
    for name, column in columns.items():
        values = sample[name].drop_nulls()
        if column["kind"] == "numeric":
            column["skewness"] = _skewness(values.cast(pl.Float64).to_numpy())
        if column["kind"] in ("text", "boolean"):
            text = values.cast(pl.String)
            counted = text.value_counts().sort(["count", name], descending=[True, False]) \
                .head(TOP_VALUES)
            column["top"] = [{"value": str(value), "count": round(count * scale)}
                             for value, count in counted.iter_rows()]
        if column["kind"] == "text":
            lengths = values.str.len_chars()
            words = values.str.count_matches(r"\S+")
            column.update(length_min=lengths.min(), length_mean=lengths.mean(),
                          length_max=lengths.max(), words_mean=words.mean())
            free = (column["words_mean"] or 0) >= FREE_TEXT_MIN_WORDS \
                and column["distinct"] > TOP_VALUES
            column["kind"] = "free_text" if free else "categorical"


def _second_scan(conn: duckdb.DuckDBPyConnection, columns: dict[str, dict[str, Any]]) -> None:
    """Histograms and IQR outliers of numbers and dates, in one scan."""
    parts: list[str] = []
    readers: list[Any] = []
    for name, column in columns.items():
        kind = column["kind"]
        if kind in ("numeric", "datetime") and column.get("min") is not None:
            value = f"epoch({q(name)})" if kind == "datetime" else f"{q(name)}::DOUBLE"
            low, high = (_epoch(column["min"]), _epoch(column["max"])) \
                if kind == "datetime" else (column["min"], column["max"])
            edges = list(np.linspace(low, high, HISTOGRAM_BINS + 1)) if high > low \
                else [low, low]
            parts.append(f"histogram({value}, {[float(e) for e in edges[1:]]}::DOUBLE[])")
            readers.append(lambda v, c=column, e=edges: c.update(
                histogram={"edges": [float(x) for x in e], "counts": _bin_counts(v)}))
            quantiles = column.get("quantiles")
            if quantiles:
                spread = 1.5 * (quantiles["p75"] - quantiles["p25"])
                low_fence, high_fence = quantiles["p25"] - spread, quantiles["p75"] + spread
                parts.append(f"count_if({value} < {low_fence!r} OR {value} > {high_fence!r})")
                readers.append(lambda v, c=column, f=(low_fence, high_fence): c.update(
                    outliers=int(v), outlier_fences=list(f)))
    if not parts:
        return
    for reader, value in zip(readers, _one(conn, f"SELECT {', '.join(parts)} FROM data"),
                             strict=True):
        reader(value)


def _skewness(values: np.ndarray) -> float | None:
    """Sample skewness (adjusted Fisher-Pearson, as scipy's ``skew(bias=False)``); None for
    fewer than three values or no spread. (DuckDB's ``skewness`` fails the whole query on a
    constant column.)"""
    count = len(values)
    if count < 3:
        return None
    centred = values - values.mean()
    second, third = (centred ** 2).mean(), (centred ** 3).mean()
    if second <= 0:
        return None
    biased = third / second ** 1.5
    return float(biased * math.sqrt(count * (count - 1)) / (count - 2))


def _bin_counts(histogram: dict[float, int]) -> list[int]:
    """DuckDB's binned histogram (upper bound -> count, values above the last bound under
    +inf, which only float rounding can put there) as counts per bin."""
    ordered = sorted(histogram.items())
    counts = [int(n) for bound, n in ordered if math.isfinite(bound)]
    overflow = sum(int(n) for bound, n in ordered if not math.isfinite(bound))
    if counts:
        counts[-1] += overflow
    return counts


def _missing_matrix(sample: pl.DataFrame, seed: int) -> dict[str, str]:
    """Per column, a string of 0/1 (1 = missing) over the same few sampled rows."""
    rows = sample.sample(min(MISSING_MATRIX_ROWS, sample.height), seed=seed) \
        if sample.height > MISSING_MATRIX_ROWS else sample
    return {name: "".join("1" if v else "0" for v in rows[name].is_null().to_list())
            for name in rows.columns}


def _class_counts(conn: duckdb.DuckDBPyConnection, target: str,
                  spellings: Mapping[str, str]) -> list[dict[str, Any]]:
    """The target's values by frequency (the most frequent MAX_CLASSES), with shares."""
    counted = conn.execute(
        f"SELECT {q(target)}::VARCHAR, count(*) FROM data WHERE {q(target)} IS NOT NULL "
        f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {MAX_CLASSES}").fetchall()
    present = sum(int(n) for _, n in counted)
    return [{"value": spellings.get(value, value), "count": int(n), "share": int(n) / present}
            for value, n in counted]


def _task(sample: pl.DataFrame, target: str) -> str:
    try:
        return detect_task(sample[target]).value
    except SchemaError:
        return "constant"


def _memory_estimate(columns: dict[str, dict[str, Any]], rows: int) -> int:
    """Bytes in memory as Arrow would hold it: 8 per number or date, mean length + 4 per
    string, 1 per boolean, plus a validity bit."""
    width = 0.0
    for column in columns.values():
        if column["kind"] in ("numeric", "datetime"):
            width += 8
        elif column["kind"] == "boolean":
            width += 1
        else:
            width += (column.get("length_mean") or 0) + 4
    return int(rows * (width + len(columns) / 8))


def _notes(exact: bool, rows: int, sample_rows: int) -> list[str]:
    notes = [f"quantiles come from a reservoir of {QUANTILE_RESERVOIR:,} values per column "
             "(exact below that); IQR outliers use them"]
    if not exact:
        notes.append(f"distinct counts are HyperLogLog estimates (about 2% error) above "
                     f"{EXACT_DISTINCT_MAX_ROWS:,} rows")
    if sample_rows < rows:
        notes.append(f"correlations, target association, leakage, skewness, text lengths, "
                     f"the most frequent values (counts scaled to the table) and the "
                     f"missing-values matrix use a random sample of {sample_rows:,} of "
                     f"{rows:,} rows")
    return notes


def _one(conn: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    return tuple(conn.execute(query).fetchall()[0])  # an aggregate: one row


def _plain(value: Any) -> Any:
    """A DuckDB result value as JSON-ready Python (NaN and infinities become None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):  # dates and times
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _epoch(value: str) -> float:
    """Seconds since 1970 as DuckDB's ``epoch`` counts them (a naive time is UTC)."""
    moment = datetime.fromisoformat(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
