"""Where people's corrections concentrate: by slice, by class, by feature range.

A correction is a labelled prediction whose label differs from the prediction. The rate of
corrections in a group (a slice, a number's quantile bin, a category) against the overall rate
says where the model is wrong more than usual; groups too small to say so are left out.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

MIN_GROUP = 5
"""Labelled predictions a group needs before its correction rate is shown."""
BINS = 5
TOP_LEVELS = 8
TOP_FEATURES = 8


def correction_analysis(labelled: pl.DataFrame, input_schema: dict[str, str]) -> dict[str, Any]:
    """Correction rates overall, per slice, per (label, prediction) pair and per feature
    group, features ranked by how unevenly corrections fall across their groups."""
    corrected = labelled["corrected"].to_numpy().astype(bool)
    overall = float(corrected.mean()) if len(corrected) else 0.0
    features = pd.DataFrame([json.loads(f) for f in labelled["features"].to_list()])
    by_feature = []
    for name, kind in input_schema.items():
        if name not in features:
            continue
        groups = _groups(features[name], kind)
        rows = _rates(groups, corrected)
        if rows:
            spread = max(abs(r["rate"] - overall) for r in rows)
            by_feature.append({"feature": name, "kind": kind, "spread": spread, "groups": rows})
    by_feature.sort(key=lambda f: -f["spread"])
    pairs = pl.DataFrame({
        "label": [str(json.loads(v)) for v in labelled["label"].to_list()],
        "predicted": [str(json.loads(r)["prediction"]) for r in labelled["result"].to_list()],
        "corrected": corrected})
    return {
        "labelled": len(corrected), "corrected": int(corrected.sum()), "rate": overall,
        "by_slice": _rates(labelled["slice"].to_pandas(), corrected),
        "by_class": pairs.filter("corrected").group_by("label", "predicted").len("count")
        .sort("count", descending=True).to_dicts(),
        "by_feature": by_feature[:TOP_FEATURES]}


def _groups(values: pd.Series, kind: str) -> pd.Series:
    """A number's quantile bin (as a range), or a category's level (the rarer ones as
    'other'); missing values as their own group."""
    if kind == "number":
        numbers = pd.to_numeric(values, errors="coerce")
        present = numbers.dropna()
        if present.nunique() > BINS:
            binned = pd.qcut(numbers, BINS, duplicates="drop")
            return binned.astype(str).where(numbers.notna(), "missing")
        return numbers.astype(str).where(numbers.notna(), "missing")
    text = values.astype("string").fillna("missing")
    top = text.value_counts().head(TOP_LEVELS).index
    return text.where(text.isin(top), "other")


def _rates(groups: pd.Series, corrected: np.ndarray) -> list[dict[str, Any]]:
    frame = pd.DataFrame({"group": groups.to_numpy(), "corrected": corrected})
    summary = frame.groupby("group", sort=True)["corrected"].agg(["size", "sum"])
    return [{"group": str(group), "labelled": int(row["size"]), "corrected": int(row["sum"]),
             "rate": float(row["sum"] / row["size"])}
            for group, row in summary.iterrows() if row["size"] >= MIN_GROUP]
