"""Held-out metrics, computed from the test part the search never saw."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from flows.core.types import Task

MAIN_METRIC = {Task.BINARY: "roc_auc", Task.MULTICLASS: "log_loss", Task.REGRESSION: "rmse"}


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, task: Task) -> dict[str, float]:
    """Binary: accuracy, precision, recall, F1, AUROC, log loss (positive class = the last
    label in sorted order). Multiclass: accuracy, macro F1, log loss, one-vs-rest AUROC."""
    labels = list(range(proba.shape[1]))
    predicted = proba.argmax(axis=1)
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    result: dict[str, float | None] = {
        "accuracy": skm.accuracy_score(y_true, predicted),
        "log_loss": skm.log_loss(y_true, clipped, labels=labels),
    }
    if task is Task.BINARY:
        result |= {
            "precision": skm.precision_score(y_true, predicted, zero_division=0),
            "recall": skm.recall_score(y_true, predicted, zero_division=0),
            "f1": skm.f1_score(y_true, predicted, zero_division=0),
            "roc_auc": _safe_auc(lambda: skm.roc_auc_score(y_true, proba[:, 1])),
        }
    else:
        result |= {
            "f1_macro": skm.f1_score(y_true, predicted, average="macro", zero_division=0),
            "roc_auc_ovr": _safe_auc(lambda: skm.roc_auc_score(
                y_true, clipped, multi_class="ovr", labels=labels)),
        }
    return {name: float(value) for name, value in result.items() if value is not None}


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "rmse": float(math.sqrt(skm.mean_squared_error(y_true, predicted))),
        "mae": float(skm.mean_absolute_error(y_true, predicted)),
        "r2": float(skm.r2_score(y_true, predicted)),
    }


def _safe_auc(compute: Callable[[], float]) -> float | None:
    """AUROC is undefined when the test part lacks a class: leave it out, do not crash."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        try:
            value = float(compute())
        except ValueError:
            return None
    return value if math.isfinite(value) else None
