"""The promotion gate: a challenger replaces the champion only if it is better on the same
held-out rows, by a margin.

The rows are the challenger's own test part, rebuilt from its dataset snapshot with the seed
and test share its run used: no fit of the challenger saw them (its fold models are what is
registered, with no refit on every row). A champion trained on an older version of the same
dataset may have seen some of these rows, which favours the champion: the gate errs on the
side of keeping what serves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from flows.core.data.labels import encode_labels
from flows.core.evaluation.metrics import MAIN_METRIC, classification_metrics, regression_metrics
from flows.core.preparation.split import split_frame
from flows.core.registry.model import FittedModel
from flows.core.types import LOWER_IS_BETTER


@dataclass(frozen=True)
class GateResult:
    metric: str
    champion: float
    challenger: float
    margin: float
    rows: int
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        direction = "lower" if self.metric in LOWER_IS_BETTER else "higher"
        return (f"{self.metric} on {self.rows} held-out rows: challenger {self.challenger:.4f}, "
                f"champion {self.champion:.4f} ({direction} is better, margin {self.margin:g})")


def held_out_rows(snapshot: pl.DataFrame, target: str, test_size: float,
                  seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The test part of a run, rebuilt exactly: features and the target's raw labels."""
    split = split_frame(snapshot, target, test_size, seed)
    labels = np.asarray(split.classes, dtype=object)[split.y_test] if split.classes \
        else split.y_test
    return split.x_test, labels


def gate(champion: FittedModel, challenger: FittedModel, features: pd.DataFrame,
         labels: np.ndarray, margin: float) -> GateResult:
    """Score both models on the same rows with the task's main metric."""
    metric = MAIN_METRIC[challenger.task]
    champion_score = _score(champion, features, labels, metric)
    challenger_score = _score(challenger, features, labels, metric)
    gain = (champion_score - challenger_score if metric in LOWER_IS_BETTER
            else challenger_score - champion_score)
    return GateResult(metric=metric, champion=champion_score, challenger=challenger_score,
                      margin=margin, rows=len(labels), passed=bool(gain > margin))


def _score(model: FittedModel, features: pd.DataFrame, labels: np.ndarray, metric: str) -> float:
    if not model.task.is_classification:
        predicted = np.asarray(model.pipeline.predict(features[list(model.input_schema)]))
        return regression_metrics(np.asarray(labels, dtype=float), predicted)[metric]
    known, y = encode_labels(labels.tolist(), model.classes)
    if not known.any():
        return float("nan")  # no row of a class the model knows: nothing to score it on
    proba = model.predict_proba(features[known])
    return classification_metrics(y, proba, model.task).get(metric, float("nan"))
