"""The metric a run optimises: chosen by the user or defaulted per task, as a loss.

The search (FLAML), the choice among candidates and the ensembles all minimise the same loss,
so a run is optimised for one thing from end to end. Scores are shown to people as the metric
itself (AUROC, not 1 - AUROC).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from flows.core.errors import AutopipeError
from flows.core.types import LOWER_IS_BETTER, Task

# Binary searches default to log loss, not AUROC: AUROC ignores calibration, and on a small
# separable table an AUROC search kept a 4-tree model with AUROC 1.0 whose every probability
# sat on one side of 0.5 (accuracy 0.74; 1.0 with log loss, same AUROC). AUROC stays the main
# reported metric, and `--metric roc_auc` optimises it directly.
DEFAULT_METRIC: dict[Task, str] = {
    Task.BINARY: "log_loss", Task.MULTICLASS: "log_loss", Task.REGRESSION: "rmse"}
METRICS: dict[Task, tuple[str, ...]] = {
    Task.BINARY: ("log_loss", "roc_auc", "accuracy", "f1", "ap"),
    Task.MULTICLASS: ("log_loss", "accuracy", "macro_f1", "roc_auc_ovr"),
    Task.REGRESSION: ("rmse", "mae", "r2"),
}
"""Metrics a run can optimise, by the names FLAML knows them by."""


def search_metric(task: Task, requested: str | None) -> str:
    """The metric to optimise, or a clear error naming the ones this task allows."""
    if requested is None:
        return DEFAULT_METRIC[task]
    if requested not in METRICS[task]:
        raise AutopipeError(f"metric {requested!r} does not apply to a {task.value} target",
                            f"choose one of: {', '.join(METRICS[task])}")
    return requested


def metric_value(metric: str, y: np.ndarray, predicted: np.ndarray) -> float:
    """The metric itself, NaN when it is undefined on these rows (AUROC with one class).
    ``predicted`` is class probabilities (n x k) or regression values."""
    return _METRIC_FUNCTIONS[metric](y, predicted)


def loss(metric: str, y: np.ndarray, predicted: np.ndarray) -> float:
    """The loss FLAML would report for ``metric``: the metric itself when lower is better,
    else 1 - metric; infinite when the metric is undefined."""
    value = metric_value(metric, y, predicted)
    if not math.isfinite(value):
        return math.inf
    return value if metric in LOWER_IS_BETTER else 1.0 - value


def score_from_loss(metric: str, value: float) -> float:
    return value if metric in LOWER_IS_BETTER else 1.0 - value


def _log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """scikit-learn's log loss, in numpy: the blend search calls it hundreds of times, and
    scikit-learn's input checks made that seconds."""
    clipped = np.clip(proba, 1e-15, 1 - 1e-15)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(clipped[np.arange(len(y)), np.asarray(y, dtype=int)])))


def _quiet(compute: Callable[[], float]) -> float:
    """Undefined metrics (a class missing from the rows) are infinite losses, not crashes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        try:
            return float(compute())
        except ValueError:
            return math.nan


_METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "log_loss": _log_loss,
    "roc_auc": lambda y, p: _quiet(lambda: skm.roc_auc_score(y, p[:, 1])),
    "ap": lambda y, p: _quiet(lambda: skm.average_precision_score(y, p[:, 1])),
    "accuracy": lambda y, p: float(np.mean(p.argmax(axis=1) == y)),
    "f1": lambda y, p: float(skm.f1_score(y, p.argmax(axis=1), zero_division=0)),
    "macro_f1": lambda y, p: float(skm.f1_score(y, p.argmax(axis=1), average="macro",
                                                zero_division=0)),
    "roc_auc_ovr": lambda y, p: _quiet(lambda: skm.roc_auc_score(
        y, p / p.sum(axis=1, keepdims=True), multi_class="ovr",
        labels=list(range(p.shape[1])))),
    "rmse": lambda y, p: float(math.sqrt(np.mean((y - p) ** 2))),
    "mae": lambda y, p: float(np.mean(np.abs(y - p))),
    "r2": lambda y, p: float(skm.r2_score(y, p)),
}
