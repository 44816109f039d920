"""Held-out metrics, computed from the test part the search never saw."""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as skm

from flows.core.training.losses import metric_value
from flows.core.types import Task

MAIN_METRIC = {Task.BINARY: "roc_auc", Task.MULTICLASS: "log_loss", Task.REGRESSION: "rmse"}


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, task: Task) -> dict[str, float]:
    """Binary: accuracy, precision, recall, F1, AUROC, log loss (positive class = the last
    label in sorted order). Multiclass: accuracy, macro F1, log loss, one-vs-rest AUROC.
    An AUROC that is undefined (the rows lack a class) is left out, not reported as NaN."""
    predicted = proba.argmax(axis=1)
    result = {
        "accuracy": float(skm.accuracy_score(y_true, predicted)),
        "log_loss": metric_value("log_loss", y_true, proba),
    }
    if task is Task.BINARY:
        result |= {
            "precision": float(skm.precision_score(y_true, predicted, zero_division=0)),
            "recall": float(skm.recall_score(y_true, predicted, zero_division=0)),
            "f1": float(skm.f1_score(y_true, predicted, zero_division=0)),
            "roc_auc": metric_value("roc_auc", y_true, proba),
        }
    else:
        result |= {
            "f1_macro": float(skm.f1_score(y_true, predicted, average="macro",
                                           zero_division=0)),
            "roc_auc_ovr": metric_value("roc_auc_ovr", y_true, proba),
        }
    return {name: value for name, value in result.items() if math.isfinite(value)}


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    y_true, predicted = np.asarray(y_true, dtype=float), np.asarray(predicted, dtype=float)
    return {name: metric_value(name, y_true, predicted) for name in ("rmse", "mae", "r2")}
