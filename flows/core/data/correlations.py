"""How columns go together, on the analysis sample, whatever their kinds.

Numeric pairs: Pearson and Spearman. Categorical pairs: Cramér's V. A numeric and a
categorical column: the correlation ratio (eta). All but Pearson and Spearman lie in [0, 1],
so one heat map can show every pair. Categories keep their MAX_LEVELS most frequent levels
(the rest become one 'other' level, missing values one more), and at most MAX_COLUMNS columns
enter (the target first), because pairs grow with the square of the columns. Free text is
left out. Mutual information ranks each feature against the target, on MI_ROWS rows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

MAX_COLUMNS = 40
MAX_LEVELS = 20
MI_ROWS = 10_000
MIN_PAIRED_ROWS = 10
NUMERIC_KINDS = ("numeric", "boolean", "datetime")


def associations(sample: pl.DataFrame, kinds: dict[str, str],
                 target: str | None = None) -> dict[str, Any]:
    """``columns`` and three square matrices over them (None where a measure does not
    apply): ``pearson`` and ``spearman`` for numeric pairs, ``combined`` for every pair."""
    columns = _chosen_columns(sample, kinds, target)
    numeric = [c for c in columns if kinds[c] in NUMERIC_KINDS]
    numbers = pd.DataFrame({c: _as_numbers(sample[c]) for c in numeric})
    pearson = numbers.corr("pearson", min_periods=MIN_PAIRED_ROWS)
    spearman = numbers.corr("spearman", min_periods=MIN_PAIRED_ROWS)
    codes = {c: category_codes(sample[c]) for c in columns if c not in numeric}
    size = len(columns)
    matrices: dict[str, list[list[float | None]]] = {
        name: [[None] * size for _ in range(size)] for name in ("pearson", "spearman",
                                                                "combined")}
    for i, first in enumerate(columns):
        for j, second in enumerate(columns):
            if j < i:
                continue
            if first in numeric and second in numeric:
                values = {"pearson": pearson.loc[first, second],
                          "spearman": spearman.loc[first, second]}
                values["combined"] = values["pearson"]
            elif first in codes and second in codes:
                values = {"combined": cramers_v(codes[first], codes[second])}
            else:
                category, number = (first, second) if first in codes else (second, first)
                values = {"combined": correlation_ratio(codes[category],
                                                        numbers[number].to_numpy())}
            for name, value in values.items():
                clean = None if value is None or not np.isfinite(value) else round(
                    float(value), 4)
                matrices[name][i][j] = matrices[name][j][i] = clean
    return {"columns": columns, **matrices}


def target_association(sample: pl.DataFrame, kinds: dict[str, str], target: str,
                       task: str, seed: int) -> list[dict[str, Any]]:
    """Mutual information (nats) of each feature with the target, highest first."""
    rows = sample.filter(pl.col(target).is_not_null())
    if rows.height > MI_ROWS:
        rows = rows.sample(MI_ROWS, seed=seed)
    features = [c for c in rows.columns if c != target and kinds.get(c) != "free_text"
                and rows[c].n_unique() > 1]
    if not features or rows.height < MIN_PAIRED_ROWS:
        return []
    discrete = np.array([kinds[c] not in NUMERIC_KINDS for c in features])
    matrix = np.column_stack([
        category_codes(rows[c]).astype(float) if kinds[c] not in NUMERIC_KINDS
        else _filled(_as_numbers(rows[c])) for c in features])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if task == "regression":
            scores = mutual_info_regression(matrix, _filled(_as_numbers(rows[target])),
                                            discrete_features=discrete, random_state=seed)
        else:
            scores = mutual_info_classif(matrix, category_codes(rows[target]),
                                         discrete_features=discrete, random_state=seed)
    ranked = sorted(zip(features, scores, strict=True), key=lambda item: -item[1])
    return [{"column": c, "mutual_information": round(float(s), 4)} for c, s in ranked]


def cramers_v(first: np.ndarray, second: np.ndarray) -> float | None:
    """Cramér's V of two integer-coded categorical columns (0 = independent, 1 = one
    determines the other)."""
    rows, columns = int(first.max()) + 1, int(second.max()) + 1
    if rows < 2 or columns < 2:
        return None
    observed = np.bincount(first * columns + second, minlength=rows * columns).reshape(
        rows, columns).astype(float)
    observed = observed[observed.sum(axis=1) > 0][:, observed.sum(axis=0) > 0]
    total = observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / total
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    smaller = min(observed.shape) - 1
    return float(np.sqrt(chi2 / total / smaller)) if smaller > 0 else None


def correlation_ratio(codes: np.ndarray, values: np.ndarray) -> float | None:
    """Eta: the share of a number's spread explained by a category (square root)."""
    present = np.isfinite(values)
    codes, values = codes[present], values[present]
    if len(values) < MIN_PAIRED_ROWS:
        return None
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0:
        return None
    counts = np.bincount(codes)
    sums = np.bincount(codes, weights=values)
    used = counts > 0
    between = float((counts[used] * (sums[used] / counts[used] - values.mean()) ** 2).sum())
    return float(np.sqrt(between / total))


def category_codes(values: pl.Series) -> np.ndarray:
    """Integer codes: the MAX_LEVELS most frequent levels, then 'other', then missing."""
    text = values.cast(pl.String)
    counts = text.drop_nulls().value_counts(sort=True).head(MAX_LEVELS)
    levels = {level: code for code, level in enumerate(counts[text.name].to_list())}
    other, missing = len(levels), len(levels) + 1
    return np.array([missing if v is None else levels.get(v, other) for v in text.to_list()],
                    dtype=np.int64)


def _chosen_columns(sample: pl.DataFrame, kinds: dict[str, str],
                    target: str | None) -> list[str]:
    usable = [c for c in sample.columns if kinds.get(c) != "free_text"
              and sample[c].n_unique() > 1]
    if target in usable:
        usable = [target] + [c for c in usable if c != target]
    return usable[:MAX_COLUMNS]


def _as_numbers(values: pl.Series) -> np.ndarray:
    if values.dtype.is_temporal():
        values = values.dt.epoch("s")
    return values.cast(pl.Float64).fill_nan(None).to_numpy().astype(float)


def _filled(values: np.ndarray) -> np.ndarray:
    """Missing numbers as the median (mutual information takes no NaN)."""
    finite = np.isfinite(values)
    fill = float(np.median(values[finite])) if finite.any() else 0.0
    return np.where(finite, values, fill)
