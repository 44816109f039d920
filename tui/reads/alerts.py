"""What the Alerts screen shows, read from the catalog: alerts in triage order with their
age, and for a feature alert the reference distribution against the live one.

Plain functions over the Catalog (called from thread workers), so the numbers can be tested
without a terminal and the screen only formats them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from flows.core.data.alerts import SEVERITY_ORDER
from flows.core.registry.artifacts import read_reference
from flows.core.store.catalog import Catalog

CHARTED_KINDS = ("drift", "out_of_range", "unseen_category", "missing_jump")
"""Alerts about one input feature of one model: the ones a distribution chart explains."""
BINS = 12
SKEWED = 20.0
"""A non-negative column whose largest value is this many times its median (fares, counts,
amounts) gets bins of equal width in log(1 + x): equal-width bins would put nearly every row
in the first one."""
MAX_LEVELS = 8
"""Categories beyond the most common few are summed as "(other)" so the bars stay legible."""
MISSING = "(missing)"
OTHER = "(other)"


@dataclass(frozen=True)
class Distribution:
    """One feature's reference (training) and current (live) shares over shared bins."""

    feature: str
    kind: str
    """'number' (histogram bins, labelled by their lower edge) or 'category' (levels)."""
    labels: list[str]
    reference: list[float]
    current: list[float]
    reference_rows: int
    current_rows: int
    reference_missing: float
    current_missing: float


def age_text(seconds: float) -> str:
    """A compact age: minutes under an hour, hours under two days, then days."""
    minutes = max(int(seconds // 60), 0)
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"


def load_alerts(catalog: Catalog, now: datetime) -> list[dict[str, Any]]:
    """Every alert, unresolved first, then by severity, then newest first; each with
    ``age_s`` (seconds since it was last seen) and its notes parsed."""
    rows = catalog.alerts().to_dicts()
    for row in rows:
        row["age_s"] = (now - row["last_seen"]).total_seconds()
        row["notes"] = json.loads(row["notes"]) if row["notes"] else []
    rows.sort(key=lambda r: (r["status"] == "resolved", SEVERITY_ORDER.get(r["severity"], 9),
                             r["age_s"]))
    return rows


def charted(alert: dict[str, Any]) -> bool:
    return bool(alert["kind"] in CHARTED_KINDS and alert["feature"] and alert["model_version"])


def load_distribution(catalog: Catalog, alert: dict[str, Any]) -> Distribution | None:
    """The alert feature's training rows (saved beside the model) against the live rows its
    model answered on its slice; None when the version kept no reference rows."""
    reference = read_reference(catalog.model(alert["model_version"]).artifact_path)
    feature = alert["feature"]
    if reference is None or feature not in reference.columns:
        return None
    traffic = catalog.logged_traffic().filter(pl.col("model_version") == alert["model_version"])
    if alert["slice"] is not None:
        traffic = traffic.filter(pl.col("slice") == alert["slice"])
    current = pd.Series([json.loads(f).get(feature) for f in traffic["features"].to_list()],
                        dtype=object)
    return distribution(feature, reference[feature], current)


def distribution(feature: str, reference: pd.Series, current: pd.Series) -> Distribution:
    """Shares of both over the same bins: a histogram when the training column is numeric,
    level shares otherwise (missing as a level of its own). Missing numbers have no bin:
    their shares are counted apart."""
    if pd.api.types.is_numeric_dtype(reference) and not pd.api.types.is_bool_dtype(reference):
        ref = pd.to_numeric(reference, errors="coerce").to_numpy(dtype=float)
        cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float)
        labels, ref_shares, cur_shares = _histogram(ref, cur)
        kind = "number"
        ref_missing, cur_missing = _missing(ref), _missing(cur)
    else:
        ref_levels, cur_levels = _levels(reference), _levels(current)
        labels, ref_shares, cur_shares = _level_shares(ref_levels, cur_levels)
        kind = "category"
        ref_missing = float((ref_levels == MISSING).mean()) if len(ref_levels) else 0.0
        cur_missing = float((cur_levels == MISSING).mean()) if len(cur_levels) else 0.0
    return Distribution(feature, kind, labels, ref_shares, cur_shares, len(reference),
                        len(current), ref_missing, cur_missing)


def _missing(values: np.ndarray) -> float:
    return float((~np.isfinite(values)).mean()) if len(values) else 0.0


def _histogram(ref: np.ndarray, cur: np.ndarray) -> tuple[list[str], list[float], list[float]]:
    """Bins over the range both share, as shares of each side's present values."""
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    both = np.concatenate([ref, cur])
    if not len(both):
        return [], [], []
    edges = _edges(both)
    ref_counts = np.histogram(ref, bins=edges)[0]
    cur_counts = np.histogram(cur, bins=edges)[0]
    return ([_number(e) for e in edges[:-1]], _shares(ref_counts), _shares(cur_counts))


def _edges(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if low >= 0 and high > SKEWED * max(float(np.median(values)), 1e-9):
        return np.expm1(np.linspace(np.log1p(low), np.log1p(high), BINS + 1))
    return np.histogram_bin_edges(values, bins=BINS)


def _level_shares(ref: pd.Series, cur: pd.Series) -> tuple[list[str], list[float], list[float]]:
    """The most common levels of both sides together, then everything else as one bar."""
    counts = pd.concat([ref.value_counts(normalize=True), cur.value_counts(normalize=True)],
                       axis=1).fillna(0.0)
    top = list(counts.sum(axis=1).sort_values(ascending=False).index[:MAX_LEVELS])
    ref_shares = [float((ref == level).mean()) if len(ref) else 0.0 for level in top]
    cur_shares = [float((cur == level).mean()) if len(cur) else 0.0 for level in top]
    if len(counts) > len(top):
        top.append(OTHER)
        ref_shares.append(max(1.0 - sum(ref_shares), 0.0) if len(ref) else 0.0)
        cur_shares.append(max(1.0 - sum(cur_shares), 0.0) if len(cur) else 0.0)
    return [str(level) for level in top], ref_shares, cur_shares


def _levels(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), MISSING).astype(str)


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c) / total if total else 0.0 for c in counts]


def _number(value: float) -> str:
    """A bin edge short enough for an axis label."""
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value / 1000:.1f}k"
    if magnitude >= 10 or value == int(value):
        return f"{value:.0f}"
    return f"{value:.2g}"
