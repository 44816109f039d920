"""Every tool's test-set predictions scored here by the same code, comparing label strings.

A predictions CSV has ``prediction`` and, for classifiers, one probability column per class,
named by the label as the data file spells it. A tool that renames the classes (``True`` for
``1``, ``1.0`` for ``1``, the quotes of ``'-1'`` dropped) matches none of them and fails the
dataset. Columns for classes a tool never saw (a 2-row class absent from a training part)
count as probability 0; every probability is then clipped to [1e-15, 1 - 1e-15] and each row
renormalised, the same for all tools, so the log loss stays finite and comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from peers_data import Split
from sklearn.metrics import r2_score, roc_auc_score, root_mean_squared_error

EPS = 1e-15
LOWER_IS_BETTER = frozenset({"log_loss", "rmse"})


class ScoringError(Exception):
    """A tool's predictions cannot be scored: it failed this dataset."""


@dataclass(frozen=True)
class Scores:
    main: float
    second: float
    """accuracy, or R² for regression."""


def score(task: str, split: Split, predictions: Path) -> Scores:
    predicted = pd.read_csv(predictions, dtype=str, keep_default_na=False)
    if len(predicted) != len(split.y_test):
        raise ScoringError(f"{len(predicted)} predictions for {len(split.y_test)} test rows")
    if task == "regression":
        truth = np.array(split.y_test, dtype=float)
        values = numbers(predicted["prediction"])
        return Scores(root_mean_squared_error(truth, values), r2_score(truth, values))
    truth = np.array(split.y_test)
    accuracy = float(np.mean(predicted["prediction"].to_numpy() == truth))
    proba = probabilities(predicted, split.classes)
    if task == "binary":
        return Scores(float(roc_auc_score(truth == split.classes[1], proba[:, 1])), accuracy)
    return Scores(log_loss(truth, proba, split.classes), accuracy)


def numbers(column: pd.Series) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ScoringError(f"{int((~np.isfinite(values)).sum())} predictions are not numbers")
    return values


def probabilities(predicted: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """One column per class in ``classes`` order. Classes the tool has no column for share
    what its columns leave of 1 (nothing, for a tool whose probabilities sum to 1)."""
    named = [i for i, c in enumerate(classes) if c in predicted.columns]
    if not named:
        others = [c for c in predicted.columns if c != "prediction"]
        raise ScoringError(f"probability columns {others} name none of the labels {classes}")
    proba = np.zeros((len(predicted), len(classes)))
    for index in named:
        proba[:, index] = numbers(predicted[classes[index]])
    absent = [i for i in range(len(classes)) if i not in named]
    if absent:
        left = np.clip(1 - proba.sum(axis=1, keepdims=True), 0, 1)
        proba[:, absent] = left / len(absent)
    proba = np.clip(proba, EPS, 1 - EPS)
    return proba / proba.sum(axis=1, keepdims=True)


def log_loss(truth: np.ndarray, proba: np.ndarray, classes: list[str]) -> float:
    position = {label: i for i, label in enumerate(classes)}
    picked = proba[np.arange(len(truth)), [position[t] for t in truth]]
    return float(-np.mean(np.log(picked)))


def oriented(metric: str, value: float) -> float:
    """The value turned so that lower is better for every metric (for ranking)."""
    return value if metric in LOWER_IS_BETTER else -value

