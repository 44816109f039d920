"""Retraining from feedback: the training table (the champion's data plus labelled and
corrected predictions), the fresh rows neither model trained on, and the verdict on them.

The champion never saw a logged prediction's label, so a share of the labelled predictions,
kept out of the challenger's training, is the one set of rows that is fresh for both models:
the gate compares them there. A person's label for a record replaces the training label of
rows with exactly the same features (the correction is the newer truth).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from flows.core.data.cleaning import clean_value
from flows.core.data.labels import as_class
from flows.core.errors import AutopipeError
from flows.core.registry.gate import GateResult, gate
from flows.core.registry.model import FittedModel
from flows.core.types import LOWER_IS_BETTER

CORRECTED = "__corrected"
"""Marks feedback rows whose label differs from what was predicted (dropped before training)."""


def feedback_table(labelled: pl.DataFrame, schema: pl.Schema, target: str) -> pl.DataFrame:
    """Labelled predictions as rows of the training table: the logged features cast to the
    training columns (extra fields dropped, absent ones null), the label as the target (one
    of its written classes when it holds them: see flows/core/data/labels.py)."""
    records = [json.loads(f) for f in labelled["features"].to_list()]
    columns = {name: pl.Series(name, [clean_value(r.get(name)) for r in records], strict=False)
               .cast(dtype, strict=False)
               for name, dtype in schema.items() if name != target}
    kind = schema[target]
    classes = kind.categories.to_list() if isinstance(kind, pl.Enum) else []
    labels = pl.Series(target, [as_class(clean_value(json.loads(v)), classes)
                                for v in labelled["label"]], strict=False).cast(kind, strict=False)
    return pl.DataFrame(columns).with_columns(labels, pl.Series(
        CORRECTED, labelled["corrected"].to_list(), dtype=pl.Boolean)).select(
        [*schema.names(), CORRECTED])


def split_fresh(table: pl.DataFrame, share: float, seed: int) -> tuple[pl.DataFrame,
                                                                      pl.DataFrame]:
    """(rows to train on, fresh rows to judge on): a seeded share kept out; none when there
    are too few rows to spare one."""
    fresh_rows = round(table.height * share)
    if fresh_rows < 1 or fresh_rows >= table.height:
        return table, table.head(0)
    order = np.random.default_rng(seed).permutation(table.height)
    return table[np.sort(order[fresh_rows:])], table[np.sort(order[:fresh_rows])]


def training_table(snapshot: pl.DataFrame, feedback: pl.DataFrame, target: str) -> pl.DataFrame:
    """The champion's data with the feedback rows appended; original rows whose features a
    feedback row repeats exactly are replaced by it."""
    features = [c for c in snapshot.columns if c != target]
    rows = feedback.drop(CORRECTED).select(snapshot.columns).cast(snapshot.schema)
    kept = snapshot.join(rows.select(features).unique(), on=features, how="anti",
                         nulls_equal=True)
    return pl.concat([kept, rows])


@dataclass(frozen=True)
class Verdict:
    """Champion against challenger on the fresh rows, and on the corrections."""

    gate: GateResult | None
    fresh_rows: int
    corrected_fresh: int
    agreement: dict[str, dict[str, float | None]]
    """Share of corrected rows each model now labels as the person did: 'trained' (the
    corrections the challenger learnt from) and 'fresh' (held out)."""
    min_gain: float

    @property
    def gain(self) -> float | None:
        if self.gate is None:
            return None
        change = self.gate.challenger - self.gate.champion
        return -change if self.gate.metric in LOWER_IS_BETTER else change

    @property
    def recommend_promotion(self) -> bool:
        return self.gate is not None and self.gate.passed

    @property
    def may_auto_promote(self) -> bool:
        gain = self.gain
        return self.recommend_promotion and gain is not None and gain >= self.min_gain

    def describe(self) -> str:
        if self.gate is None:
            return ("no fresh labelled rows to judge on: label more predictions, or promote "
                    "with the usual gate ('autopipe promote VERSION')")
        verb = "promote the challenger" if self.recommend_promotion else "keep the champion"
        return f"{verb}: {self.gate.describe()}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"gain": self.gain,
                               "recommend_promotion": self.recommend_promotion,
                               "description": self.describe()}


def judge(champion: FittedModel, challenger: FittedModel, trained: pl.DataFrame,
          fresh: pl.DataFrame, target: str, margin: float, min_gain: float) -> Verdict:
    """The gate on the fresh rows (none when there are none) and how far each model follows
    the corrections."""
    result = None
    if fresh.height:
        features, labels = fresh_features(fresh, target)
        result = gate(champion, challenger, features, labels, margin)
    agreement = {
        name: {part: _agreement(model, rows, target)
               for part, rows in (("trained", trained), ("fresh", fresh))}
        for name, model in (("champion", champion), ("challenger", challenger))}
    return Verdict(result, fresh.height, int(fresh[CORRECTED].sum()) if fresh.height else 0,
                   agreement, min_gain)


def fresh_features(fresh: pl.DataFrame, target: str) -> tuple[Any, np.ndarray]:
    """Features (pandas, as models take them) and raw labels of fresh rows."""
    return (fresh.drop(target, CORRECTED, strict=False).to_pandas(),
            fresh[target].to_numpy())


def _agreement(model: FittedModel, rows: pl.DataFrame, target: str) -> float | None:
    """Share of corrected rows the model labels as the person did (classification), or
    one minus the mean relative error (regression)."""
    corrected = rows.filter(pl.col(CORRECTED))
    if corrected.is_empty():
        return None
    features, labels = fresh_features(corrected, target)
    predicted = model.predict_frame(model.validate_frame(features))["prediction"].to_numpy()
    if model.task.is_classification:
        meant = np.array([as_class(label, model.classes) for label in labels], dtype=object)
        return float(np.mean(predicted.astype(str) == meant.astype(str)))
    truth = labels.astype(float)
    return float(1 - np.mean(np.abs(predicted.astype(float) - truth)
                             / np.maximum(np.abs(truth), 1e-9)))


def require_feedback(labelled: pl.DataFrame, family: str) -> None:
    if labelled.is_empty():
        raise AutopipeError(
            f"no labelled predictions of {family!r} models to retrain with",
            "label served predictions with 'autopipe labels FILE' or 'autopipe review'")
