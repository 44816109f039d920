"""The traditional baselines every winner is measured against: scikit-learn defaults."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from flows.core.types import Task

MAX_ROWS = 100_000


def baseline_estimators(task: Task, seed: int) -> dict[str, tuple[str, Any]]:
    """Role -> (learner name, unfitted estimator) with library defaults."""
    if task.is_classification:
        return {
            "baseline_linear": ("logistic_regression", LogisticRegression(max_iter=1000)),
            "baseline_hgb": ("hist_gradient_boosting",
                             HistGradientBoostingClassifier(random_state=seed)),
        }
    return {
        "baseline_linear": ("ridge", Ridge()),
        "baseline_hgb": ("hist_gradient_boosting",
                         HistGradientBoostingRegressor(random_state=seed)),
    }


def fit_baselines(x: np.ndarray, y: np.ndarray, task: Task, seed: int,
                  threads: int | None = None) -> dict[str, tuple[str, Any]]:
    """Fit each baseline on the prepared training matrix (a seeded, stratified sample of at
    most MAX_ROWS rows: a baseline is a yardstick, and it is paid for from the budget), on
    ``threads`` threads (None: the libraries' default)."""
    if len(x) > MAX_ROWS:
        keep, _ = train_test_split(np.arange(len(x)), train_size=MAX_ROWS, random_state=seed,
                                   stratify=y if task.is_classification else None)
        x, y = x[keep], y[keep]
    fitted = {}
    with warnings.catch_warnings(), threadpool_limits(limits=threads):
        # Library defaults may stop before converging: that is what a baseline measures.
        warnings.simplefilter("ignore", ConvergenceWarning)
        for role, (learner, estimator) in baseline_estimators(task, seed).items():
            fitted[role] = (learner, estimator.fit(x, y))
    return fitted
