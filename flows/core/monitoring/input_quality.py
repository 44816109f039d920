"""Data-quality anomalies in live inputs: numbers outside the training range, categories
training never saw, and missing values appearing where training had few.

Unlike drift, these flag inputs the model cannot have learnt from, even when the distribution
as a whole looks stable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OUT_OF_RANGE_SHARE = 0.01
UNSEEN_SHARE = 0.05
MISSING_JUMP = 0.1
CATEGORY_MAX_LEVELS = 50
"""Unseen values are only news in a column of few levels (names, codes and free text are
new in every row)."""


@dataclass(frozen=True)
class QualityIssue:
    kind: str
    """'out_of_range', 'unseen_category' or 'missing_jump'."""
    feature: str
    value: float
    threshold: float
    message: str


def quality_issues(reference: pd.DataFrame, current: pd.DataFrame,
                   schema: dict[str, str], min_rows: int) -> list[QualityIssue]:
    """Each feature's anomalies in ``current`` against the training ``reference``."""
    if len(current) < min_rows:
        return []
    found = []
    for feature, kind in schema.items():
        if feature not in reference.columns or feature not in current.columns:
            continue
        ref, cur = reference[feature], current[feature]
        jump = float(cur.isna().mean() - ref.isna().mean())
        if jump > MISSING_JUMP:
            found.append(QualityIssue("missing_jump", feature, jump, MISSING_JUMP,
                                      f"{feature!r} is missing in {cur.isna().mean():.0%} of "
                                      f"live rows ({ref.isna().mean():.0%} in training)"))
        if kind == "number":
            found += _out_of_range(feature, ref, cur)
        elif kind != "datetime":
            found += _unseen(feature, ref, cur)
    return found


def _out_of_range(feature: str, ref: pd.Series, cur: pd.Series) -> list[QualityIssue]:
    known = pd.to_numeric(ref, errors="coerce").dropna()
    live = pd.to_numeric(cur, errors="coerce").dropna()
    if known.empty or live.empty:
        return []
    low, high = float(known.min()), float(known.max())
    share = float(((live < low) | (live > high)).mean())
    if share <= OUT_OF_RANGE_SHARE:
        return []
    return [QualityIssue("out_of_range", feature, share, OUT_OF_RANGE_SHARE,
                         f"{share:.0%} of live {feature!r} values fall outside the training "
                         f"range [{low:g}, {high:g}]")]


def _unseen(feature: str, ref: pd.Series, cur: pd.Series) -> list[QualityIssue]:
    levels = set(ref.dropna().astype(str))
    live = cur.dropna().astype(str)
    if live.empty or len(levels) > CATEGORY_MAX_LEVELS:
        return []
    unseen = ~live.isin(levels)
    share = float(unseen.mean())
    if share <= UNSEEN_SHARE:
        return []
    examples = ", ".join(sorted(set(live[unseen]))[:3])
    return [QualityIssue("unseen_category", feature, share, UNSEEN_SHARE,
                         f"{share:.0%} of live {feature!r} values were never seen in training "
                         f"(e.g. {examples})")]


def latency_percentiles(latencies_ms: np.ndarray) -> dict[str, float]:
    """p50, p95 and p99 of request latencies (milliseconds)."""
    if len(latencies_ms) == 0:
        return {}
    p50, p95, p99 = np.percentile(latencies_ms, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}
